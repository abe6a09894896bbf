// The host's FQDN (util/osutil/hostname.go in Prometheus v2.45), through the
// system resolver (getaddrinfo, getnameinfo).
#include "util/hostname.h"

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sdscope::util {

Result<std::string> fqdn() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) {
    return fail(std::string("hostname: ") + std::strerror(errno));
  }
  std::string hostname = host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM; // one entry per address
  addrinfo* addresses = nullptr;
  if (getaddrinfo(hostname.c_str(), nullptr, &hints, &addresses) != 0) {
    return hostname; // no address: the plain host name, as Prometheus does
  }
  std::string found;
  for (addrinfo* a = addresses; a != nullptr && found.empty(); a = a->ai_next) {
    char name[NI_MAXHOST] = {};
    if (getnameinfo(a->ai_addr, a->ai_addrlen, name, sizeof name, nullptr, 0, NI_NAMEREQD) == 0 && name[0] != '\0') {
      found = name;
    }
  }
  freeaddrinfo(addresses);
  if (found.empty()) {
    return hostname;
  }
  // Go's net.LookupAddr returns absolute names.
  return found.back() == '.' ? found : found + ".";
}

} // namespace sdscope::util
