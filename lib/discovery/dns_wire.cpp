// DNS messages as miekg/dns writes and reads them, for dns_sd's queries.
//
// A query carries RD, one IN question and an EDNS0 OPT record announcing
// 4096 bytes (c-ares sets the ID). A reply is decoded here rather than by
// c-ares so that every Answer record counts whatever its owner name, as in
// Prometheus, and so that malformed replies fail exactly where miekg/dns's
// Unpack fails. Names come back in miekg/dns's presentation form (escapes
// included), which is what ends up in the labels.
#include "discovery/dns_wire.h"

#include <cctype>
#include <cstdio>
#include <cstring>

namespace sdscope::discovery::dns {

namespace {

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

} // namespace

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

} // namespace sdscope::discovery::dns
