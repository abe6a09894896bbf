#pragma once

// The HTTP client that SD mechanisms use: libcurl driven by an
// HttpClientConfig the way prometheus/common v0.44 builds its http.Client
// (auth round trippers, TLS, proxy, redirects, HTTP/2).

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_config.h"
#include "util/result.h"

namespace sdscope::net {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  long status = 0;
  std::string status_text;  // the reason phrase, e.g. "Not Found"
  std::string content_type; // the first Content-Type header, as sent
  HttpHeaders headers;      // of the final response, in order
  std::string body;

  // Go's resp.Status: "404 Not Found".
  std::string status_line() const;
  // The first value of the named header (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

// "Basic <base64>" for the user[:password] of a URL (percent-decoded), as
// Go's http.Client sends it; "" when the URL has none.
std::string userinfo_authorization(std::string_view url);

class HttpClient {
public:
  // Builds a client; fails as Prometheus's NewClientFromConfig does (e.g.
  // `unable to load specified CA cert <file>: <reason>`). Files named by the
  // config (password, credentials, CA, client cert and key, oauth2 secret)
  // are read again on every request, so rotated secrets take effect.
  static Result<std::unique_ptr<HttpClient>> make(const HttpClientConfig& config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and returns the final response of any status (a 3xx
  // when follow_redirects is off). Fails on transport problems with Go's
  // shape, `Get "<url>": <reason>`, on timeout (0 = none) and when stop is
  // requested (at once, `Get "<url>": context canceled`). Error texts never
  // contain a configured secret. Requests on one client are serialized;
  // connections are kept for reuse. A header "Accept-Encoding: gzip" makes
  // a gzip-encoded body come back decoded. User:password in the URL is sent
  // as basic auth ahead of the config's auth (Go's http.Client does so
  // before any round tripper), unless the caller sets Authorization.
  Result<HttpResponse> get(const std::string& url, const HttpHeaders& headers, std::chrono::milliseconds timeout,
                           std::stop_token stop);
  Result<HttpResponse> post(const std::string& url, const HttpHeaders& headers, std::string body,
                            std::chrono::milliseconds timeout, std::stop_token stop);
  // A PUT request: as post() (e.g. the IMDSv2 token, `Put "<url>": ...`).
  Result<HttpResponse> put(const std::string& url, const HttpHeaders& headers, std::string body,
                           std::chrono::milliseconds timeout, std::stop_token stop);
  // A HEAD request: as get(), with an empty body.
  Result<HttpResponse> head(const std::string& url, const HttpHeaders& headers, std::chrono::milliseconds timeout,
                            std::stop_token stop);

  // Connects every later request to this Unix domain socket instead of the
  // URL's host (which still names the Host header), as Docker clients do
  // for unix:// daemons; "" connects normally again.
  void set_unix_socket(std::string path);

  // Sends a GET whose 2xx body is handed to on_data piece by piece as it
  // arrives (for watches) instead of being kept; a body of any other status
  // is kept in the response as get() does. There is no overall timeout, but
  // a connection that sends nothing for idle_limit (0 = no limit) fails. The
  // stream ends when the server ends it, when on_data returns false (not an
  // error) or when stop is requested (at once, `context canceled`). The
  // request holds this client until it ends, so concurrent streams need
  // clients of their own.
  Result<HttpResponse> stream(const std::string& url, const HttpHeaders& headers,
                              const std::function<bool(std::string_view chunk)>& on_data,
                              std::chrono::milliseconds idle_limit, std::stop_token stop);

  struct Impl;

private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

} // namespace sdscope::net
