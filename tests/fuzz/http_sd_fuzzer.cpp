// libFuzzer entry point for http_sd's response body (a JSON group list),
// checked and mapped as a 200 application/json response.
#include <cstddef>
#include <cstdint>
#include <string>

#include "discovery/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sdscope::net::HttpResponse response;
  response.status = 200;
  response.status_text = "OK";
  response.content_type = "application/json";
  response.body.assign(reinterpret_cast<const char*>(data), size);
  (void)sdscope::discovery::http::groups_from_response(response, "http://127.0.0.1:8080/sd");
  return 0;
}
