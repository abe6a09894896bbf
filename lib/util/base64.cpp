#include "util/base64.h"

#include <cstdint>

namespace sdscope::util {

std::string encode_base64_std(std::string_view in) {
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k_alphabet[(n >> 18) & 63];
    out += k_alphabet[(n >> 12) & 63];
    out += k_alphabet[(n >> 6) & 63];
    out += k_alphabet[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += k_alphabet[(n >> 18) & 63];
    out += k_alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += k_alphabet[(n >> 18) & 63];
    out += k_alphabet[(n >> 12) & 63];
    out += k_alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

namespace {

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

bool is_newline(char c) { return c == '\r' || c == '\n'; }

tl::unexpected<std::string> corrupt_at(size_t offset) {
  return fail("illegal base64 data at input byte " + std::to_string(offset));
}

} // namespace

// Quantum by quantum, as encoding/base64's decodeQuantum reports offsets.
Result<std::string> decode_base64_std(std::string_view src) {
  std::string out;
  size_t si = 0;
  while (true) {
    int values[4] = {0, 0, 0, 0};
    int count = 0; // sextets of this quantum
    bool padded = false;
    while (count < 4) {
      if (si == src.size()) {
        if (count == 0) {
          return out;
        }
        return corrupt_at(si - static_cast<size_t>(count));
      }
      char c = src[si++];
      if (int value = sextet(c); value >= 0) {
        values[count++] = value;
        continue;
      }
      if (is_newline(c)) {
        continue;
      }
      if (c != '=' || count < 2) {
        return corrupt_at(si - 1);
      }
      if (count == 2) { // "==" expected; the first '=' is consumed
        while (si < src.size() && is_newline(src[si])) {
          ++si;
        }
        if (si == src.size()) {
          return corrupt_at(src.size());
        }
        if (src[si] != '=') {
          return corrupt_at(si - 1);
        }
        ++si;
      }
      while (si < src.size() && is_newline(src[si])) {
        ++si;
      }
      if (si < src.size()) {
        return corrupt_at(si); // trailing garbage
      }
      padded = true;
      break;
    }
    uint32_t bits = (static_cast<uint32_t>(values[0]) << 18) | (static_cast<uint32_t>(values[1]) << 12) |
                    (static_cast<uint32_t>(values[2]) << 6) | static_cast<uint32_t>(values[3]);
    int bytes = count - 1; // 4 sextets give 3 bytes, 3 give 2, 2 give 1
    for (int i = 0; i < bytes; ++i) {
      out += static_cast<char>((bits >> (16 - 8 * i)) & 0xFF);
    }
    if (padded) {
      return out;
    }
  }
}

} // namespace sdscope::util
