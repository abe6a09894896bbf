// dns_sd's resolver: each refresh re-reads /etc/resolv.conf (parsed by
// dns_resolv_conf) and resolves each configured name, all names at once.
//
// Prometheus does not use Go's resolver but miekg/dns: for each candidate
// of the search list (NameList) it asks each nameserver in turn, one UDP
// query with EDNS0 (4096) and a 2 s timeout, falling back to TCP on a
// truncated reply. NOERROR or NXDOMAIN ends the server loop; transport
// errors and other RCODEs try the next server. The first NOERROR candidate
// wins even without answers; all NXDOMAIN is an empty result; anything else
// is an error. The queries go through c-ares, one channel per nameserver
// (one try each), and the replies are decoded by dns_wire.
#include "discovery/dns_resolver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <ares.h>

#include "discovery/dns_resolv_conf.h"
#include "util/strings.h"

namespace sdscope::discovery::dns {

namespace {

constexpr const char* k_resolv_conf = "/etc/resolv.conf";
constexpr int k_query_timeout_ms = 2000; // miekg/dns client default (dial, read, write)

// A nameserver as "ip" (port 53) or "ip:port" / "[ip]:port" (tests).
std::optional<ares_addr_port_node> server_address(const std::string& server, bool with_port) {
  ares_addr_port_node node{};
  std::string host = server;
  int port = 53;
  if (with_port) {
    util::HostPort split = util::split_host_port(server);
    if (!split.ok()) {
      return std::nullopt;
    }
    host = split.host;
    port = std::atoi(std::string(split.port).c_str());
  }
  if (inet_pton(AF_INET, host.c_str(), &node.addr.addr4) == 1) {
    node.family = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), &node.addr.addr6) == 1) {
    node.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  node.udp_port = port;
  node.tcp_port = port;
  return node;
}

// The lookups of one refresh: one c-ares channel per nameserver, one
// state machine per configured name.
class Batch {
public:
  struct Lookup {
    Batch* batch = nullptr;
    std::string name;
    std::vector<std::string> candidates;
    size_t candidate = 0;
    size_t server = 0;
    bool errored = false;
    bool done = false;
    std::optional<Message> message;
    std::string error;
  };

  Batch(const ResolvConf& conf, bool with_port, uint16_t qtype) : m_qtype(qtype) {
    static std::once_flag once;
    std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    for (const std::string& server : conf.servers) {
      ares_channel channel = nullptr;
      std::optional<ares_addr_port_node> node = server_address(server, with_port);
      ares_options options{};
      options.flags = ARES_FLAG_EDNS | ARES_FLAG_NOCHECKRESP;
      options.timeout = k_query_timeout_ms;
      options.tries = 1;
      options.ednspsz = k_edns_size;
      int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ;
      if (node && ares_init_options(&channel, &options, mask) == ARES_SUCCESS) {
        node->next = nullptr;
        if (ares_set_servers_ports(channel, &*node) != ARES_SUCCESS) {
          ares_destroy(channel);
          channel = nullptr;
        }
      }
      m_channels.push_back(channel); // null: this server cannot be asked
    }
  }
  ~Batch() {
    m_closing = true;
    for (ares_channel channel : m_channels) {
      if (channel != nullptr) {
        ares_destroy(channel);
      }
    }
  }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void add(const std::string& name, std::vector<std::string> candidates) {
    Lookup& l = m_lookups.emplace_back();
    l.batch = this;
    l.name = name;
    l.candidates = std::move(candidates);
  }

  void fail_all(const std::string& error) {
    for (Lookup& l : m_lookups) {
      l.done = true;
      l.error = error;
    }
  }

  // Runs every lookup to its end, or until stop is requested.
  void run(std::stop_token stop) {
    m_pending = m_lookups.size();
    for (Lookup& l : m_lookups) {
      if (!l.done) {
        send(l);
      } else {
        --m_pending;
      }
    }
    int wake[2];
    if (pipe(wake) != 0) {
      return fail_pending("pipe: " + std::string(std::strerror(errno)));
    }
    fcntl(wake[0], F_SETFL, O_NONBLOCK);
    fcntl(wake[1], F_SETFL, O_NONBLOCK);
    {
      std::stop_callback on_stop(stop, [&] { (void)!write(wake[1], "x", 1); });
      while (m_pending > 0 && !stop.stop_requested()) {
        poll_once(wake[0]);
      }
    }
    close(wake[0]);
    close(wake[1]);
    if (m_pending > 0) {
      m_closing = true;
      for (ares_channel channel : m_channels) {
        if (channel != nullptr) {
          ares_cancel(channel);
        }
      }
    }
  }

  std::vector<Lookup>& lookups() { return m_lookups; }

private:
  void fail_pending(const std::string& error) {
    for (Lookup& l : m_lookups) {
      if (!l.done) {
        l.done = true;
        l.error = error;
      }
    }
    m_pending = 0;
  }

  // Asks the current server about the current candidate, moving on past
  // servers and candidates that cannot be asked.
  void send(Lookup& l) {
    while (true) {
      if (l.candidate >= l.candidates.size()) {
        finish(l);
        return;
      }
      std::optional<std::string> query;
      if (l.server < m_channels.size() && m_channels[l.server] != nullptr) {
        query = build_query(l.candidates[l.candidate], m_qtype);
      }
      if (!query) {
        // Unpackable name or unusable server: this server fails.
        if (++l.server >= m_channels.size()) {
          l.errored = true;
          ++l.candidate;
          l.server = 0;
        }
        continue;
      }
      ares_send(m_channels[l.server], reinterpret_cast<const unsigned char*>(query->data()),
                static_cast<int>(query->size()), &Batch::on_answer, &l);
      return;
    }
  }

  void finish(Lookup& l) {
    if (!l.errored) {
      l.message = Message{}; // every candidate NXDOMAIN: nothing there
    } else {
      l.error = "could not resolve " + util::go_quote(l.name) +
                ": all servers responded with errors to at least one search domain";
    }
    l.done = true;
    --m_pending;
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    Lookup& l = *static_cast<Lookup*>(arg);
    Batch& b = *l.batch;
    if (b.m_closing || status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) {
      return;
    }
    if (status == ARES_SUCCESS && abuf != nullptr) {
      Result<Message> m = parse_message(abuf, static_cast<size_t>(alen));
      if (m && m->rcode == k_rcode_success) {
        l.message = std::move(*m);
        l.done = true;
        --b.m_pending;
        return;
      }
      if (m && m->rcode == k_rcode_name_error) {
        ++l.candidate;
        l.server = 0;
        b.send(l);
        return;
      }
    }
    if (++l.server >= b.m_channels.size()) {
      l.errored = true;
      ++l.candidate;
      l.server = 0;
    }
    b.send(l);
  }

  void poll_once(int wake_fd) {
    std::vector<pollfd> fds;
    std::vector<ares_channel> owners;
    int timeout_ms = k_query_timeout_ms;
    for (ares_channel channel : m_channels) {
      if (channel == nullptr) {
        continue;
      }
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = static_cast<short>((ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
                                          (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0));
        if (events != 0) {
          fds.push_back(pollfd{socks[i], events, 0});
          owners.push_back(channel);
        }
      }
      timeval max{k_query_timeout_ms / 1000, 0};
      timeval tv{};
      if (timeval* t = ares_timeout(channel, &max, &tv)) {
        timeout_ms = std::min<int>(timeout_ms, static_cast<int>(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000));
      }
    }
    fds.push_back(pollfd{wake_fd, POLLIN, 0});
    int ready = poll(fds.data(), fds.size(), std::max(timeout_ms, 1));
    if (ready > 0) {
      for (size_t i = 0; i + 1 < fds.size(); ++i) {
        if (fds[i].revents == 0) {
          continue;
        }
        bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        bool writable = (fds[i].revents & POLLOUT) != 0;
        ares_process_fd(owners[i], readable ? fds[i].fd : ARES_SOCKET_BAD, writable ? fds[i].fd : ARES_SOCKET_BAD);
      }
    }
    for (ares_channel channel : m_channels) {
      if (channel != nullptr) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD); // timeouts
      }
    }
  }

  uint16_t m_qtype;
  std::vector<ares_channel> m_channels;
  std::vector<Lookup> m_lookups;
  size_t m_pending = 0;
  bool m_closing = false;
};

} // namespace

std::vector<Resolution> resolve(const std::vector<std::string>& names, uint16_t qtype,
                                const std::string& server_override, std::stop_token stop) {
  ResolvConf conf;
  std::string conf_error;
  if (!server_override.empty()) {
    conf.servers = util::split(server_override, ',');
  } else {
    std::string text;
    if (!util::read_file(k_resolv_conf, text)) {
      std::string reason = std::strerror(errno);
      if (!reason.empty()) {
        reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
      }
      conf_error = "could not load resolv.conf: open " + std::string(k_resolv_conf) + ": " + reason;
    }
    conf = parse_resolv_conf(text);
  }
  Batch batch(conf, !server_override.empty(), qtype);
  for (const std::string& name : names) {
    batch.add(name, name_list(name, conf));
  }
  if (!conf_error.empty()) {
    batch.fail_all(conf_error);
  } else {
    batch.run(stop);
  }
  std::vector<Resolution> out;
  for (Batch::Lookup& l : batch.lookups()) {
    out.push_back(Resolution{l.name, std::move(l.message), l.error, l.done});
  }
  return out;
}

} // namespace sdscope::discovery::dns
