#!/usr/bin/env bash
# --print: effective config with inheritance applied, secrets hidden.
. "$(dirname "$0")/lib.sh"

cat > c.yml <<'YAML'
global:
  scrape_interval: 20s
  sample_limit: 100
scrape_configs:
  - job_name: a
    basic_auth: {username: u, password: hunter2-password}
    proxy_url: http://127.0.0.1:3128
    proxy_connect_header: {X-Auth: [proxy-secret-value]}
    static_configs: [{targets: ["127.0.0.1:9100"]}]
  - job_name: c
    oauth2: {client_id: c, client_secret: oauth-secret-value, token_url: "http://127.0.0.1/t"}
  - job_name: b
    bearer_token: bearer-secret-value
    consul_sd_configs: [{server: "127.0.0.1:8500", token: consul-secret-value}]
remote_write:
  - url: http://127.0.0.1:9201/write
    sigv4: {region: eu-west-1, access_key: AK, secret_key: sigv4-secret-value}
YAML
run check --print c.yml
expect_status 0
expect_out "scrape_interval: 20s"
expect_out "scrape_timeout: 10s"
expect_out "sample_limit: 100"
expect_out "password: <secret>"
expect_out "type: Bearer"
for secret in hunter2-password oauth-secret-value proxy-secret-value bearer-secret-value consul-secret-value sigv4-secret-value; do
  expect_no "$secret"
done
# The printed config is itself valid.
cp out.txt printed.yml
run check --syntax-only printed.yml
expect_status 0
finish
