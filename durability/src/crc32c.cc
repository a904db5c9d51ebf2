#include "omniroute/durability/crc32c.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define OMNIROUTE_CRC32C_X86 1
#endif

namespace omniroute::durability {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // reflected 0x1EDC6F41

// kTables[0] is the classic byte-at-a-time table; kTables[k][b] is the CRC of byte b
// followed by k zero bytes, which lets the loop below fold eight bytes per step.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomial : 0u);
    t[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xffu];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

inline uint32_t LoadLe32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// Slicing-by-8 on the pre-inverted register `l`.
uint32_t ExtendSoftware(uint32_t l, const unsigned char* p, size_t n) {
  // Byte at a time until p is 8-byte aligned (not needed for correctness, only speed).
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    l = kTables[0][(l ^ *p++) & 0xffu] ^ (l >> 8);
    --n;
  }
  while (n >= 8) {
    uint32_t lo = LoadLe32(p) ^ l;
    uint32_t hi = LoadLe32(p + 4);
    l = kTables[7][lo & 0xffu] ^ kTables[6][(lo >> 8) & 0xffu] ^ kTables[5][(lo >> 16) & 0xffu] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xffu] ^ kTables[2][(hi >> 8) & 0xffu] ^
        kTables[1][(hi >> 16) & 0xffu] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    l = kTables[0][(l ^ *p++) & 0xffu] ^ (l >> 8);
    --n;
  }
  return l;
}

#ifdef OMNIROUTE_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t l, const unsigned char* p,
                                                          size_t n) {
  uint64_t l64 = l;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    l64 = _mm_crc32_u64(l64, v);
    p += 8;
    n -= 8;
  }
  uint32_t l32 = static_cast<uint32_t>(l64);
  while (n > 0) {
    l32 = _mm_crc32_u8(l32, *p++);
    --n;
  }
  return l32;
}

bool HaveHardware() {
  // Function-local so that it is initialized on first use, whatever the static
  // initialization order.
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return have;
}
#else
bool HaveHardware() { return false; }
#endif

}  // namespace

uint32_t Crc32cExtendPortable(uint32_t crc, absl::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  return ExtendSoftware(crc ^ 0xffffffffu, p, data.size()) ^ 0xffffffffu;
}

uint32_t Crc32cExtend(uint32_t crc, absl::string_view data) {
#ifdef OMNIROUTE_CRC32C_X86
  if (HaveHardware()) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    return ExtendHardware(crc ^ 0xffffffffu, p, data.size()) ^ 0xffffffffu;
  }
#endif
  return Crc32cExtendPortable(crc, data);
}

bool Crc32cIsHardwareAccelerated() { return HaveHardware(); }

}  // namespace omniroute::durability
