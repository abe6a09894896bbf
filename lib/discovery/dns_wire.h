#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace sdscope::discovery::dns {

// The record types and response codes dns_sd looks at.
constexpr uint16_t k_type_a = 1;
constexpr uint16_t k_type_mx = 15;
constexpr uint16_t k_type_aaaa = 28;
constexpr uint16_t k_type_srv = 33;
constexpr uint16_t k_type_opt = 41;
constexpr int k_rcode_success = 0;
constexpr int k_rcode_name_error = 3;

constexpr int k_edns_size = 4096; // dns.DefaultMsgSize

struct Record {
  uint16_t type = 0;
  std::string host; // address text, or the SRV target / MX exchange as received
  uint16_t port = 0;
};

struct Message {
  int rcode = 0;
  std::vector<Record> answers; // A, AAAA, SRV and MX records of the Answer section
};

// A query as miekg/dns builds it: RD, one question of class IN for name (in
// presentation form, \X and \DDD escapes allowed), an OPT record announcing
// 4096 bytes; the ID is left 0 for c-ares to set. Returns nullopt where
// miekg/dns refuses to pack the name (empty or long label, long name).
std::optional<std::string> build_query(std::string_view name, uint16_t qtype);

// Decodes a DNS reply: its RCODE (extended by OPT) and the usable records
// of its Answer section, whatever their owner name. Fails where miekg/dns's
// Unpack would.
Result<Message> parse_message(const unsigned char* data, size_t size);

} // namespace sdscope::discovery::dns
