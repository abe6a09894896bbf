// dns_sd: SRV, A, AAAA and MX lookups (discovery/dns/dns.go in Prometheus
// v2.45; spec/sd-platforms.md §3).
//
// Every refresh re-reads /etc/resolv.conf and resolves each configured name
// at once, all names concurrently. Prometheus does not use Go's resolver but
// miekg/dns: for each candidate of the search list (NameList) it asks each
// nameserver in turn, one UDP query with EDNS0 (4096) and a 2 s timeout,
// falling back to TCP on a truncated reply. NOERROR or NXDOMAIN ends the
// server loop; transport errors and other RCODEs try the next server. The
// first NOERROR candidate wins even without answers; all NXDOMAIN is an
// empty result; anything else is an error. The queries go through c-ares,
// one channel per nameserver (one try each), and the replies are decoded
// here so that every Answer record counts whatever its owner name, as in
// Prometheus. A name whose lookup fails is left out of the refresh (its
// last group stays) and the refresh still sends the other names' groups.
#include "discovery/dns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>

#include <ares.h>

#include "util/strings.h"

namespace sdscope::discovery::dns {

namespace {

constexpr std::string_view k_name_label = "__meta_dns_name";
constexpr std::string_view k_srv_target_label = "__meta_dns_srv_record_target";
constexpr std::string_view k_srv_port_label = "__meta_dns_srv_record_port";
constexpr std::string_view k_mx_target_label = "__meta_dns_mx_record_target";
constexpr std::string_view k_address_label = "__address__";

constexpr const char* k_resolv_conf = "/etc/resolv.conf";
constexpr int k_query_timeout_ms = 2000; // miekg/dns client default (dial, read, write)
constexpr int k_edns_size = 4096;        // dns.DefaultMsgSize

constexpr uint16_t k_type_a = 1;
constexpr uint16_t k_type_mx = 15;
constexpr uint16_t k_type_aaaa = 28;
constexpr uint16_t k_type_srv = 33;
constexpr uint16_t k_type_opt = 41;
constexpr int k_rcode_success = 0;
constexpr int k_rcode_name_error = 3;

// Go's strings.ToUpper for the record type: besides a-z, U+017F (long s)
// and U+0131 (dotless i) upper-case to ASCII letters, so "\u017Frv" is SRV.
std::string go_upper(std::string_view type) {
  std::string upper;
  for (size_t i = 0; i < type.size(); ++i) {
    char ch = type[i];
    if (ch >= 'a' && ch <= 'z') {
      upper += static_cast<char>(ch - 'a' + 'A');
    } else if (type.compare(i, 2, "\xC5\xBF") == 0) {
      upper += 'S';
      ++i;
    } else if (type.compare(i, 2, "\xC4\xB1") == 0) {
      upper += 'I';
      ++i;
    } else {
      upper += ch;
    }
  }
  return upper;
}

uint16_t qtype_of(std::string_view type) {
  std::string upper = go_upper(type);
  if (upper == "A") {
    return k_type_a;
  }
  if (upper == "AAAA") {
    return k_type_aaaa;
  }
  if (upper == "MX") {
    return k_type_mx;
  }
  return k_type_srv;
}

std::vector<std::string> fields_of(std::string_view line) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < line.size()) {
    size_t b = line.find_first_not_of(" \t\r\v\f", at);
    if (b == std::string_view::npos) {
      break;
    }
    size_t e = line.find_first_of(" \t\r\v\f", b);
    e = e == std::string_view::npos ? line.size() : e;
    out.emplace_back(line.substr(b, e - b));
    at = e;
  }
  return out;
}

// miekg/dns CountLabel: labels of a presentation name, escapes included.
int count_labels(std::string_view name) {
  if (name == ".") {
    return 0;
  }
  int labels = 0;
  bool in_label = false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\') {
      ++i;
      in_label = true;
    } else if (name[i] == '.') {
      labels += in_label ? 1 : 0;
      in_label = false;
    } else {
      in_label = true;
    }
  }
  return labels + (in_label ? 1 : 0);
}

bool is_fqdn(std::string_view name) {
  // A final dot counts unless it is escaped (an odd run of backslashes).
  if (name.empty() || name.back() != '.') {
    return false;
  }
  size_t slashes = 0;
  for (size_t i = name.size() - 1; i > 0 && name[i - 1] == '\\'; --i) {
    ++slashes;
  }
  return slashes % 2 == 0;
}

std::string fqdn(std::string_view name) { return is_fqdn(name) ? std::string(name) : std::string(name) + "."; }

// Packs a presentation name (\X and \DDD escapes) into wire form; false
// where miekg/dns refuses to pack it (empty or long label, long name).
bool pack_name(std::string_view name, std::string& out) {
  if (name == ".") {
    out += '\0';
    return true;
  }
  std::string label;
  size_t total = 1;
  auto flush = [&] {
    if (label.empty() || label.size() > 63) {
      return false;
    }
    total += label.size() + 1;
    out += static_cast<char>(label.size());
    out += label;
    label.clear();
    return true;
  };
  for (size_t i = 0; i < name.size(); ++i) {
    char ch = name[i];
    if (ch == '\\') {
      if (i + 3 < name.size() && isdigit(static_cast<unsigned char>(name[i + 1])) &&
          isdigit(static_cast<unsigned char>(name[i + 2])) && isdigit(static_cast<unsigned char>(name[i + 3]))) {
        int value = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
        if (value > 255) {
          return false;
        }
        label += static_cast<char>(value);
        i += 3;
      } else if (i + 1 < name.size()) {
        label += name[++i];
      } else {
        return false;
      }
    } else if (ch == '.') {
      if (!flush()) {
        return false;
      }
    } else {
      label += ch;
    }
  }
  if (!label.empty() && !flush()) {
    return false;
  }
  out += '\0';
  return total <= 255;
}

void put16(std::string& out, unsigned v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

// A query as miekg/dns builds it: RD, one question of class IN, an OPT
// record announcing 4096 bytes. c-ares sets the ID.
std::optional<std::string> build_query(std::string_view name, uint16_t qtype) {
  std::string q;
  put16(q, 0);      // ID
  put16(q, 0x0100); // RD
  put16(q, 1);      // QDCOUNT
  put16(q, 0);
  put16(q, 0);
  put16(q, 1); // ARCOUNT
  if (!pack_name(name, q)) {
    return std::nullopt;
  }
  put16(q, qtype);
  put16(q, 1);
  q += '\0'; // OPT: root owner
  put16(q, k_type_opt);
  put16(q, k_edns_size);
  put16(q, 0);
  put16(q, 0);
  put16(q, 0);
  return q;
}

// Go's net.IP.String for 16 bytes: IPv4-mapped as dotted quad, else the
// longest run (two groups or more, first of equals) of zeros as "::".
std::string format_ipv6(const unsigned char* b) {
  static const unsigned char k_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[64];
  if (std::memcmp(b, k_mapped, 12) == 0) {
    std::snprintf(text, sizeof text, "%d.%d.%d.%d", b[12], b[13], b[14], b[15]);
    return text;
  }
  int best = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && b[2 * j] == 0 && b[2 * j + 1] == 0) {
      ++j;
    }
    if (j - i >= 2 && j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') {
      out += ':';
    }
    std::snprintf(text, sizeof text, "%x", (b[2 * i] << 8) | b[2 * i + 1]);
    out += text;
  }
  return out;
}

struct Record {
  uint16_t type = 0;
  std::string host; // address text, or the SRV target / MX exchange as received
  uint16_t port = 0;
};

struct Message {
  int rcode = 0;
  std::vector<Record> answers; // A, AAAA, SRV and MX records of the Answer section
};

// Decodes a DNS message; fails where miekg/dns's Unpack would.
class Reader {
public:
  Reader(const unsigned char* data, size_t size) : m_data(data), m_size(size) {}
  bool ok() const { return m_ok; }
  size_t at() const { return m_at; }
  void seek(size_t at) { m_at = at; }
  unsigned u8() {
    if (m_at + 1 > m_size) {
      m_ok = false;
      return 0;
    }
    return m_data[m_at++];
  }
  unsigned u16() { return (u8() << 8) | u8(); }
  uint32_t u32() { return (static_cast<uint32_t>(u16()) << 16) | u16(); }
  const unsigned char* bytes(size_t n) {
    if (m_at + n > m_size) {
      m_ok = false;
      return nullptr;
    }
    const unsigned char* p = m_data + m_at;
    m_at += n;
    return p;
  }
  // A name in presentation form as miekg/dns writes it: special
  // characters backslash-escaped, others outside ' '..'~' as \DDD.
  std::string name() {
    std::string out;
    size_t at = m_at;
    size_t resume = 0;
    int jumps = 0;
    size_t length = 0;
    while (true) {
      if (at >= m_size) {
        m_ok = false;
        return "";
      }
      unsigned c = m_data[at];
      if (c == 0) {
        ++at;
        break;
      }
      if ((c & 0xc0) == 0xc0) {
        if (at + 1 >= m_size || ++jumps > 126) {
          m_ok = false;
          return "";
        }
        if (resume == 0) {
          resume = at + 2;
        }
        at = ((c & 0x3f) << 8) | m_data[at + 1];
        continue;
      }
      if ((c & 0xc0) != 0 || at + 1 + c > m_size || (length += c + 1) > 254) {
        m_ok = false;
        return "";
      }
      for (size_t i = at + 1; i <= at + c; ++i) {
        unsigned char b = m_data[i];
        if (std::strchr(".  '@;()\"\\", b) != nullptr && b != 0) {
          out += '\\';
          out += static_cast<char>(b);
        } else if (b < ' ' || b > '~') {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\%03u", b);
          out += esc;
        } else {
          out += static_cast<char>(b);
        }
      }
      out += '.';
      at += c + 1;
    }
    m_at = resume != 0 ? resume : at;
    return out.empty() ? "." : out;
  }

private:
  const unsigned char* m_data;
  size_t m_size;
  size_t m_at = 0;
  bool m_ok = true;
};

Result<Message> parse_message(const unsigned char* data, size_t size) {
  Reader r(data, size);
  r.u16();
  unsigned flags = r.u16();
  unsigned counts[4] = {r.u16(), r.u16(), r.u16(), r.u16()};
  if (!r.ok()) {
    return fail("dns: short message");
  }
  Message m;
  m.rcode = static_cast<int>(flags & 0xf);
  for (unsigned i = 0; i < counts[0]; ++i) {
    r.name();
    r.u32();
  }
  for (int section = 1; section < 4; ++section) {
    for (unsigned i = 0; i < counts[section] && r.ok(); ++i) {
      r.name();
      uint16_t type = static_cast<uint16_t>(r.u16());
      r.u16();
      uint32_t ttl = r.u32();
      size_t length = r.u16();
      size_t end = r.at() + length;
      if (!r.ok() || end > size) {
        return fail("dns: overflow unpacking record");
      }
      Record rec;
      rec.type = type;
      if (type == k_type_opt && section == 3) {
        m.rcode |= static_cast<int>((ttl >> 24) << 4); // the extended RCODE
      } else if (section == 1 && type == k_type_a && length == 4) {
        const unsigned char* b = r.bytes(4);
        char text[16];
        std::snprintf(text, sizeof text, "%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
        rec.host = text;
      } else if (section == 1 && type == k_type_aaaa && length == 16) {
        rec.host = format_ipv6(r.bytes(16));
      } else if (section == 1 && type == k_type_srv) {
        r.u16(); // priority and weight are not used
        r.u16();
        rec.port = static_cast<uint16_t>(r.u16());
        rec.host = r.name();
      } else if (section == 1 && type == k_type_mx) {
        r.u16();
        rec.host = r.name();
      } else if (section == 1 && (type == k_type_a || type == k_type_aaaa) && length != 0) {
        return fail("dns: bad address length");
      }
      if (!r.ok() || r.at() > end) {
        return fail("dns: overflow unpacking record");
      }
      r.seek(end);
      if (section == 1 && !rec.host.empty()) {
        m.answers.push_back(std::move(rec));
      }
    }
  }
  if (!r.ok()) {
    return fail("dns: overflow unpacking message");
  }
  return m;
}

// net.JoinHostPort.
std::string join_host_port(std::string_view host, std::string_view port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) {
    h = "[" + h + "]";
  }
  return h + ":" + std::string(port);
}

std::string trim_dots(std::string s) {
  s.erase(s.find_last_not_of('.') + 1);
  return s;
}

// The group of one name: a target per usable Answer record (CNAMEs and
// other types are skipped). Every meta label is set, "" where it does not
// apply, as Prometheus does (and "" means absent downstream).
model::TargetGroup group_of(const std::string& name, const Message& m, int port) {
  model::TargetGroup group;
  group.source = name;
  for (const Record& rec : m.answers) {
    std::string address;
    std::string srv_target;
    std::string srv_port;
    std::string mx_target;
    if (rec.type == k_type_srv) {
      srv_target = rec.host;
      srv_port = std::to_string(rec.port);
      address = join_host_port(trim_dots(rec.host), srv_port);
    } else if (rec.type == k_type_mx) {
      mx_target = rec.host;
      address = join_host_port(trim_dots(rec.host), std::to_string(port));
    } else {
      address = join_host_port(rec.host, std::to_string(port));
    }
    group.targets.push_back(model::Labels{{std::string(k_address_label), address},
                                          {std::string(k_name_label), name},
                                          {std::string(k_srv_target_label), srv_target},
                                          {std::string(k_srv_port_label), srv_port},
                                          {std::string(k_mx_target_label), mx_target}});
  }
  return group;
}

// A nameserver as "ip" (port 53) or "ip:port" / "[ip]:port" (tests).
std::optional<ares_addr_port_node> server_address(const std::string& server, bool with_port) {
  ares_addr_port_node node{};
  std::string host = server;
  int port = 53;
  if (with_port) {
    size_t colon = server.rfind(':');
    if (colon == std::string::npos) {
      return std::nullopt;
    }
    host = server.substr(0, colon);
    port = std::atoi(server.c_str() + colon + 1);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
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

// Sends what its wrapped discoverer sends, but reports the names that
// failed in a refresh the helper saw succeed.
class ReportingSink : public Sink {
public:
  ReportingSink(Sink& sink, std::shared_ptr<std::string> errors) : m_sink(sink), m_errors(std::move(errors)) {}
  using Sink::update;
  void update(std::vector<std::shared_ptr<const model::TargetGroup>> groups) override {
    m_sink.update(std::move(groups));
  }
  void report(std::string error) override { m_sink.report(error.empty() ? *m_errors : std::move(error)); }

private:
  Sink& m_sink;
  std::shared_ptr<std::string> m_errors;
};

class DnsDiscoverer : public Discoverer {
public:
  DnsDiscoverer(int64_t interval_ms, std::shared_ptr<Discovery> discovery)
      : m_errors(std::make_shared<std::string>()),
        m_refresh(interval_ms, [discovery, errors = m_errors](std::stop_token stop) {
          Discovery::Refreshed r = discovery->refresh(std::move(stop));
          errors->clear();
          for (const std::string& e : r.errors) {
            *errors += (errors->empty() ? "" : "; ") + e;
          }
          return Result<std::vector<model::TargetGroup>>(std::move(r.groups));
        }) {}
  void run(std::stop_token stop, Sink& sink) override {
    ReportingSink reporting(sink, m_errors);
    m_refresh.run(std::move(stop), reporting);
  }

private:
  std::shared_ptr<std::string> m_errors;
  RefreshDiscoverer m_refresh;
};

} // namespace

void Config::validate(yaml::Checker& c) const {
  if (names.empty()) {
    // Prometheus says "SRV" whatever the record type is.
    c.error("DNS-SD config must contain at least one SRV record name");
    return;
  }
  std::string upper = go_upper(type);
  if (upper == "A" || upper == "AAAA" || upper == "MX") {
    if (port == 0) {
      c.error("a port is required in DNS-SD configs for all record types except SRV");
      return;
    }
  } else if (upper != "SRV") {
    if (upper == "NS") {
      c.warning_at("type", "record type NS is new in Prometheus 2.49; v2.45 rejects it");
    }
    c.error_at("type", "invalid DNS-SD records type " + type);
    return;
  }
  check_refresh_interval(c, refresh_interval.ms);
}

std::unique_ptr<SdConfig> parse_config(yaml::Decoder& d, yaml::Node n) { return parse_config_of<Config>(d, n); }

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf conf;
  for (const std::string& line : util::split(text, '\n')) {
    std::vector<std::string> f = fields_of(line);
    if (f.empty()) {
      continue;
    }
    if (f[0] == "nameserver" && f.size() > 1) {
      conf.servers.push_back(f[1]);
    } else if (f[0] == "domain") {
      conf.search.clear();
      if (f.size() > 1) {
        conf.search.push_back(f[1]);
      }
    } else if (f[0] == "search") {
      conf.search.assign(f.begin() + 1, f.end());
    } else if (f[0] == "options") {
      for (size_t i = 1; i < f.size(); ++i) {
        if (util::starts_with(f[i], "ndots:")) {
          // strconv.Atoi: 0 on a syntax error, saturated on overflow.
          std::string digits = f[i].substr(6);
          size_t start = !digits.empty() && (digits[0] == '-' || digits[0] == '+') ? 1 : 0;
          bool valid = digits.size() > start && digits.find_first_not_of("0123456789", start) == std::string::npos;
          long n = 0;
          for (size_t k = start; valid && k < digits.size() && n <= 15; ++k) {
            n = n * 10 + (digits[k] - '0');
          }
          n = digits[0] == '-' ? -n : n;
          conf.ndots = static_cast<int>(std::clamp<long>(n, 0, 15));
        }
      }
    }
  }
  return conf;
}

std::vector<std::string> name_list(std::string_view name, const ResolvConf& conf) {
  if (is_fqdn(name)) {
    return {std::string(name)};
  }
  bool has_ndots = count_labels(name) > conf.ndots;
  std::string absolute = fqdn(name);
  std::vector<std::string> names;
  if (has_ndots) {
    names.push_back(absolute);
  }
  for (const std::string& s : conf.search) {
    names.push_back(fqdn(absolute + s));
  }
  if (!has_ndots) {
    names.push_back(absolute);
  }
  return names;
}

Discovery::Discovery(const Config& config, std::string server_override)
    : m_config(config), m_qtype(qtype_of(config.type)), m_server_override(std::move(server_override)) {}

Discovery::Refreshed Discovery::refresh(std::stop_token stop) {
  ResolvConf conf;
  std::string conf_error;
  if (!m_server_override.empty()) {
    conf.servers = util::split(m_server_override, ',');
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
  Batch batch(conf, !m_server_override.empty(), m_qtype);
  for (const std::string& name : m_config.names) {
    batch.add(name, name_list(name, conf));
  }
  if (!conf_error.empty()) {
    batch.fail_all(conf_error);
  } else {
    batch.run(stop);
  }
  Refreshed out;
  for (Batch::Lookup& l : batch.lookups()) {
    if (l.message) {
      out.groups.push_back(group_of(l.name, *l.message, m_config.port));
    } else if (l.done) {
      out.errors.push_back(l.error);
    }
  }
  return out;
}

Result<std::unique_ptr<Discoverer>> Config::make_discoverer(const DiscovererOptions& options) const {
  auto it = options.endpoints.find("dns");
  auto discovery = std::make_shared<Discovery>(*this, it == options.endpoints.end() ? "" : it->second);
  return std::unique_ptr<Discoverer>(std::make_unique<DnsDiscoverer>(refresh_interval.ms, std::move(discovery)));
}

} // namespace sdscope::discovery::dns
