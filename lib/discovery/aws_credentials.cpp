// The AWS credential chain of Prometheus v2.45's ec2_sd and lightsail_sd,
// which build an AWS SDK for Go v1 session (aws/session/credentials.go,
// aws/credentials/{static,env,shared_credentials}_provider.go,
// aws/credentials/ec2rolecreds, aws/credentials/stscreds):
//
// 1. access_key / secret_key, when either is set (a half-set pair fails with
//    SDK v1's EmptyStaticCreds);
// 2. without a profile in the SD config: AWS_ACCESS_KEY_ID (or
//    AWS_ACCESS_KEY) with AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY) and
//    AWS_SESSION_TOKEN;
// 3. the profile (config `profile`, else AWS_PROFILE, else "default"; with
//    AWS_SDK_LOAD_CONFIG also AWS_DEFAULT_PROFILE) of the shared
//    credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials)
//    and, with AWS_SDK_LOAD_CONFIG, of the config file (AWS_CONFIG_FILE or
//    ~/.aws/config, sections "[profile <name>]"); a profile named in the SD
//    config or AWS_PROFILE must exist;
//    (before 3, without a profile: AWS_WEB_IDENTITY_TOKEN_FILE with
//    AWS_ROLE_ARN and optional AWS_ROLE_SESSION_NAME, exchanged through an
//    unsigned STS AssumeRoleWithWebIdentity);
// 4. with AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (GET
//    http://169.254.170.2<uri>) or AWS_CONTAINER_CREDENTIALS_FULL_URI (with
//    AWS_CONTAINER_AUTHORIZATION_TOKEN as Authorization), the container
//    credentials endpoint; otherwise the EC2 instance metadata service: an IMDSv2 token (PUT
//    /latest/api/token), then GET /latest/meta-data/iam/security-credentials/
//    for the role and GET .../<role> for its temporary keys (token-less
//    GETs when no token can be had); AWS_EC2_METADATA_DISABLED=true skips it.
// With role_arn the result only signs STS AssumeRole (Query API, version
// 2011-06-15, 15-minute sessions named by the Unix time in nanoseconds);
// the role's credentials sign the service calls.
// IMDS docs: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
// STS: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
#include "discovery/aws_credentials.h"

#include <cstdlib>
#include <ctime>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "discovery/aws_request.h"
#include "util/os_file.h"
#include "util/strings.h"
#include "util/xml.h"

namespace sdscope::discovery::aws {

namespace {

using Clock = std::chrono::system_clock;

constexpr std::string_view k_no_providers = "NoCredentialProviders: no valid providers in chain. Deprecated.\n"
                                            "\tFor verbose messaging see aws.Config.CredentialsChainVerboseErrors";
constexpr std::string_view k_default_imds = "http://169.254.169.254";
// SDK v1's ec2metadata client gives a request a second when the HTTP client
// is the SDK's own; Prometheus hands it its client (no timeout), which would
// let an unreachable metadata service stall a refresh, so the SDK's own
// bound is kept.
constexpr std::chrono::milliseconds k_imds_timeout{1000};
constexpr std::chrono::minutes k_imds_expiry_window{5}; // ec2rolecreds in defaults.RemoteCredProvider
constexpr std::chrono::seconds k_sts_expiry_window{10};

// The sections of an INI file as the SDK's parser reads them: "[name]",
// "key = value", '#' and ';' comments; keys are lower-cased.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;

IniFile parse_ini(std::string_view text) {
  IniFile sections;
  std::map<std::string, std::string>* current = nullptr;
  for (const std::string& raw : util::split(text, '\n')) {
    std::string line = util::trim_space(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') {
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      current = &sections[util::trim_space(std::string_view(line).substr(1, line.size() - 2))];
      continue;
    }
    size_t eq = line.find('=');
    if (current == nullptr || eq == std::string::npos) {
      continue;
    }
    (*current)[util::to_lower_ascii(util::trim_space(std::string_view(line).substr(0, eq)))] =
        util::trim_space(std::string_view(line).substr(eq + 1));
  }
  return sections;
}

// Parses an RFC 3339 time such as "2026-11-28T10:00:00Z" (fractions and
// numeric offsets allowed).
std::optional<Clock::time_point> parse_rfc3339(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string_view rest = std::string_view(s).substr(static_cast<size_t>(consumed));
  if (!rest.empty() && rest[0] == '.') {
    size_t digits = rest.find_first_not_of("0123456789", 1);
    rest = rest.substr(digits == std::string_view::npos ? rest.size() : digits);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    offset = (std::atol(std::string(rest.substr(1, 2)).c_str()) * 60 + std::atol(std::string(rest.substr(4, 2)).c_str())) * 60;
    if (rest[0] == '-') {
      offset = -offset;
    }
  } else {
    return std::nullopt;
  }
  return Clock::from_time_t(timegm(&tm) - offset);
}

const util::xml::Element* child(const util::xml::Element* e, std::string_view local) {
  if (e == nullptr) {
    return nullptr;
  }
  for (const util::xml::Element& c : e->children) {
    if (c.local_name() == local) {
      return &c;
    }
  }
  return nullptr;
}

// The JSON of IMDS role credentials and container credentials.
Result<net::aws::Credentials> credentials_from_json(std::string_view body, bool needs_success_code) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object() || (needs_success_code && json.value("Code", "") != "Success") ||
      !json.contains("AccessKeyId") || !json["AccessKeyId"].is_string() || !json.contains("SecretAccessKey") ||
      !json["SecretAccessKey"].is_string()) {
    return fail("failed to decode credentials");
  }
  std::string token = json.contains("Token") && json["Token"].is_string() ? json["Token"].get<std::string>() : "";
  std::string expiration =
      json.contains("Expiration") && json["Expiration"].is_string() ? json["Expiration"].get<std::string>() : "";
  return net::aws::Credentials{json["AccessKeyId"].get<std::string>(), json["SecretAccessKey"].get<std::string>(),
                               token, parse_rfc3339(expiration)};
}

Result<net::aws::Credentials> credentials_from_sts(std::string_view body, std::string_view result_element) {
  Result<util::xml::Element> doc = util::xml::parse(body);
  if (!doc) {
    return fail(fmt::format("SerializationError: failed decoding Query response\n\tstatus code: 200, request id: "
                            "\ncaused by: {}",
                            doc.error()));
  }
  const util::xml::Element* creds = child(child(&*doc, result_element), "Credentials");
  const util::xml::Element* id = child(creds, "AccessKeyId");
  const util::xml::Element* secret = child(creds, "SecretAccessKey");
  const util::xml::Element* token = child(creds, "SessionToken");
  const util::xml::Element* expiration = child(creds, "Expiration");
  if (id == nullptr || secret == nullptr) {
    return fail(fmt::format("SerializationError: failed decoding Query response: {} has no Credentials",
                            result_element));
  }
  return net::aws::Credentials{util::trim_space(id->text), util::trim_space(secret->text),
                               token == nullptr ? std::string() : util::trim_space(token->text),
                               expiration == nullptr ? std::nullopt : parse_rfc3339(util::trim_space(expiration->text))};
}

} // namespace

CredentialsProvider::CredentialsProvider(CredentialsOptions options, std::shared_ptr<net::HttpClient> client)
    : m_options(std::move(options)), m_client(std::move(client)) {}

Clock::time_point CredentialsProvider::now() const { return m_options.now ? m_options.now() : Clock::now(); }

std::string CredentialsProvider::env(const std::string& name) const {
  if (m_options.environment) {
    auto it = m_options.environment->find(name);
    return it == m_options.environment->end() ? std::string() : it->second;
  }
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? std::string() : std::string(value);
}

void CredentialsProvider::invalidate() {
  std::lock_guard lock(m_mutex);
  m_cached.reset();
}

Result<net::aws::Credentials> CredentialsProvider::get(std::stop_token stop) {
  std::lock_guard lock(m_mutex);
  if (m_cached && (!m_cached->expires || now() < *m_cached->expires - m_window)) {
    return *m_cached;
  }
  // STS answers are renewed 10 s before they expire; IMDS and container
  // credentials (which set the window) 5 minutes before, as SDK v1 does.
  m_window = k_sts_expiry_window;
  Result<net::aws::Credentials> base = resolve_base(stop);
  if (!base) {
    return base;
  }
  if (!m_options.role_arn.empty()) {
    base = assume_role(*base, stop);
    if (!base) {
      return base;
    }
    m_window = k_sts_expiry_window;
  }
  m_cached = *base;
  return base;
}

Result<net::aws::Credentials> CredentialsProvider::resolve_base(std::stop_token stop) {
  if (!m_options.access_key.empty() || !m_options.secret_key.empty()) {
    if (m_options.access_key.empty() || m_options.secret_key.empty()) {
      return fail("EmptyStaticCreds: static credentials are empty");
    }
    return net::aws::Credentials{m_options.access_key, m_options.secret_key, "", std::nullopt};
  }
  if (m_options.profile.empty()) {
    std::string id = env("AWS_ACCESS_KEY_ID");
    if (id.empty()) {
      id = env("AWS_ACCESS_KEY");
    }
    std::string secret = env("AWS_SECRET_ACCESS_KEY");
    if (secret.empty()) {
      secret = env("AWS_SECRET_KEY");
    }
    if (!id.empty() && !secret.empty()) {
      return net::aws::Credentials{id, secret, env("AWS_SESSION_TOKEN"), std::nullopt};
    }
    if (!env("AWS_WEB_IDENTITY_TOKEN_FILE").empty()) {
      return from_web_identity(stop);
    }
  }
  bool found = false;
  Result<net::aws::Credentials> shared = from_shared_files(found);
  if (!shared || found) {
    return shared;
  }
  bool container = !env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").empty() ||
                   !env("AWS_CONTAINER_CREDENTIALS_FULL_URI").empty();
  Result<net::aws::Credentials> remote = container ? from_container(stop) : from_instance_metadata(stop);
  if (!remote) {
    return fail(std::string(k_no_providers));
  }
  m_window = k_imds_expiry_window;
  return remote;
}

Result<net::aws::Credentials> CredentialsProvider::from_container(std::stop_token stop) {
  std::string url = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  net::HttpHeaders headers;
  if (std::string relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !relative.empty()) {
    std::string host = m_options.container_endpoint.empty() ? "http://169.254.170.2" : m_options.container_endpoint;
    url = host + relative;
  } else if (std::string token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN"); !token.empty()) {
    headers.emplace_back("Authorization", token);
  }
  headers.emplace_back("Accept", "application/json");
  Result<net::HttpResponse> response = m_client->get(url, headers, m_options.timeout, stop);
  if (!response || response->status != 200) {
    return fail("CredentialsEndpointError: failed to load credentials");
  }
  return credentials_from_json(response->body, false);
}

Result<net::aws::Credentials> CredentialsProvider::from_web_identity(std::stop_token stop) {
  std::string role = env("AWS_ROLE_ARN");
  if (role.empty()) {
    return fail("WebIdentityErrCode: role ARN is not set");
  }
  Result<std::string> token = util::os_read_file(env("AWS_WEB_IDENTITY_TOKEN_FILE"));
  if (!token) {
    return fail("WebIdentityErrCode: unable to read file at " + env("AWS_WEB_IDENTITY_TOKEN_FILE"));
  }
  std::string session = env("AWS_ROLE_SESSION_NAME");
  if (session.empty()) {
    session = std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now().time_since_epoch()).count());
  }
  ServiceEndpoint sts = sts_service();
  // An anonymous call: the web identity token is the proof.
  Result<net::HttpResponse> response = m_client->post(
      sts.base_url + "/", {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
      form_encode({{"Action", "AssumeRoleWithWebIdentity"},
                   {"Version", "2011-06-15"},
                   {"RoleArn", role},
                   {"RoleSessionName", session},
                   {"WebIdentityToken", util::trim_space(*token)}}),
      m_options.timeout, stop);
  if (!response) {
    return fail("WebIdentityErrCode: failed to retrieve credentials\ncaused by: RequestError: send request "
                "failed\ncaused by: " +
                response.error());
  }
  if (response->status < 200 || response->status >= 300) {
    return fail("WebIdentityErrCode: failed to retrieve credentials\ncaused by: " +
                error_from_response(Protocol::query, *response).text);
  }
  return credentials_from_sts(response->body, "AssumeRoleWithWebIdentityResult");
}

Result<net::aws::Credentials> CredentialsProvider::from_shared_files(bool& found) {
  found = false;
  bool load_config = !env("AWS_SDK_LOAD_CONFIG").empty() && env("AWS_SDK_LOAD_CONFIG") != "0" &&
                     util::to_lower_ascii(env("AWS_SDK_LOAD_CONFIG")) != "false";
  std::string profile = m_options.profile;
  bool explicit_profile = !profile.empty();
  if (profile.empty()) {
    profile = env("AWS_PROFILE");
    if (profile.empty() && load_config) {
      profile = env("AWS_DEFAULT_PROFILE");
    }
    explicit_profile = !profile.empty();
  }
  if (profile.empty()) {
    profile = "default";
  }
  std::string home = !m_options.home.empty() ? m_options.home : env("HOME");
  std::string credentials_file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (credentials_file.empty()) {
    credentials_file = home + "/.aws/credentials";
  }
  std::string config_file = env("AWS_CONFIG_FILE");
  if (config_file.empty()) {
    config_file = home + "/.aws/config";
  }

  // The config file first, the credentials file overriding it (SDK v1 order).
  std::map<std::string, std::string> values;
  bool profile_exists = false;
  auto load = [&](const std::string& path, const std::string& section) {
    Result<std::string> text = util::os_read_file(path);
    if (!text) {
      return; // a missing file is skipped
    }
    IniFile ini = parse_ini(*text);
    auto it = ini.find(section);
    if (it == ini.end()) {
      return;
    }
    profile_exists = true;
    for (const auto& [key, value] : it->second) {
      values[key] = value;
    }
  };
  if (load_config) {
    load(config_file, profile == "default" ? profile : "profile " + profile);
  }
  load(credentials_file, profile);
  if (!profile_exists) {
    if (explicit_profile) {
      return fail(fmt::format("SharedConfigProfileNotExistsError: failed to get profile, {}", profile));
    }
    return net::aws::Credentials{};
  }
  const std::string& id = values["aws_access_key_id"];
  const std::string& secret = values["aws_secret_access_key"];
  if (id.empty() || secret.empty()) {
    return net::aws::Credentials{}; // falls through to the metadata service
  }
  found = true;
  return net::aws::Credentials{id, secret, values["aws_session_token"], std::nullopt};
}

Result<net::aws::Credentials> CredentialsProvider::from_instance_metadata(std::stop_token stop) {
  if (util::to_lower_ascii(env("AWS_EC2_METADATA_DISABLED")) == "true") {
    return fail("EC2 IMDS access disabled via AWS_EC2_METADATA_DISABLED env var");
  }
  std::string base = m_options.imds_endpoint;
  if (base.empty()) {
    base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  }
  if (base.empty()) {
    base = std::string(k_default_imds);
  }
  while (base.ends_with('/')) {
    base.pop_back();
  }
  std::chrono::milliseconds timeout = std::min(m_options.timeout, k_imds_timeout);

  net::HttpHeaders headers;
  // IMDSv2: a session token first; any failure means token-less (v1) GETs.
  Result<net::HttpResponse> token = m_client->put(
      base + "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, "", timeout, stop);
  if (token && token->status == 200 && !token->body.empty()) {
    headers.emplace_back("X-aws-ec2-metadata-token", util::trim_space(token->body));
  }
  Result<net::HttpResponse> roles =
      m_client->get(base + "/latest/meta-data/iam/security-credentials/", headers, timeout, stop);
  if (!roles || roles->status != 200) {
    return fail("EC2RoleRequestError: no EC2 instance role found");
  }
  std::string role;
  for (const std::string& line : util::split(roles->body, '\n')) {
    role = util::trim_space(line);
    if (!role.empty()) {
      break;
    }
  }
  if (role.empty()) {
    return fail("EC2RoleRequestError: empty EC2 Role list");
  }
  Result<net::HttpResponse> answer = m_client->get(
      base + "/latest/meta-data/iam/security-credentials/" + util::path_escape(role), headers, timeout, stop);
  if (!answer || answer->status != 200) {
    return fail(fmt::format("EC2RoleRequestError: failed to get {} EC2 instance role credentials", role));
  }
  Result<net::aws::Credentials> credentials = credentials_from_json(answer->body, true);
  if (!credentials) {
    return fail(fmt::format("EC2RoleRequestError: failed to decode {} EC2 instance role credentials", role));
  }
  return credentials;
}

ServiceEndpoint CredentialsProvider::sts_service() const {
  ServiceEndpoint sts{m_options.sts_endpoint, "us-east-1", "sts"};
  bool regional = util::to_lower_ascii(env("AWS_STS_REGIONAL_ENDPOINTS")) == "regional" ||
                  m_options.region.starts_with("cn-");
  if (regional && !m_options.region.empty()) {
    sts.region = m_options.region;
  }
  if (sts.base_url.empty()) {
    sts.base_url = regional ? default_endpoint("sts", m_options.region) : "https://sts.amazonaws.com";
  } else {
    sts.base_url = normalize_endpoint(sts.base_url);
  }
  return sts;
}

Result<net::aws::Credentials> CredentialsProvider::assume_role(const net::aws::Credentials& base,
                                                               std::stop_token stop) {
  ServiceEndpoint sts = sts_service();
  auto session_name = std::chrono::duration_cast<std::chrono::nanoseconds>(now().time_since_epoch()).count();
  std::string body = form_encode({{"Action", "AssumeRole"},
                                  {"Version", "2011-06-15"},
                                  {"RoleArn", m_options.role_arn},
                                  {"RoleSessionName", std::to_string(session_name)},
                                  {"DurationSeconds", "900"}});
  AwsResult<net::HttpResponse> response = send_signed(
      *m_client, sts, Protocol::query, "POST", "/",
      {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}}, body,
      [&base](std::stop_token) -> Result<net::aws::Credentials> { return base; }, [this] { return now(); },
      m_options.timeout, RetryPolicy{}, stop);
  if (!response) {
    return fail(response.error().text);
  }
  return credentials_from_sts(response->body, "AssumeRoleResult");
}

std::shared_ptr<CredentialsProvider> make_credentials_provider(const std::string& access_key,
                                                               const std::string& secret_key,
                                                               const std::string& profile,
                                                               const std::string& role_arn,
                                                               const std::string& region,
                                                               std::shared_ptr<net::HttpClient> client,
                                                               std::chrono::milliseconds timeout,
                                                               std::string sts_endpoint, std::string imds_endpoint) {
  CredentialsOptions options;
  options.access_key = access_key;
  options.secret_key = secret_key;
  options.profile = profile;
  options.role_arn = role_arn;
  options.region = region;
  options.sts_endpoint = std::move(sts_endpoint);
  options.imds_endpoint = std::move(imds_endpoint);
  options.timeout = timeout;
  return std::make_shared<CredentialsProvider>(std::move(options), std::move(client));
}

} // namespace sdscope::discovery::aws
