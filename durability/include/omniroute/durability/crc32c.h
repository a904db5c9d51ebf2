// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum of every
// journal record and snapshot file.
//
//   uint32_t crc = Crc32c("123456789");              // 0xE3069283
//   uint32_t same = Crc32cExtend(Crc32c("1234"), "56789");
//
// On x86-64 processors with SSE4.2 the `crc32` instruction is used (detected at run time);
// elsewhere a table-driven slicing-by-8 implementation. Both give the same values.
//
// A checksum stored next to the data it covers is masked (as LevelDB does), so that a CRC
// computed over bytes that themselves contain CRCs stays well distributed:
//
//   stored = MaskCrc32c(Crc32c(data));   ...   Crc32c(data) == UnmaskCrc32c(stored)

#ifndef OMNIROUTE_DURABILITY_CRC32C_H_
#define OMNIROUTE_DURABILITY_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace omniroute::durability {

// The CRC32C of `data` appended to data whose CRC32C is `crc`:
// Crc32cExtend(Crc32c(a), b) == Crc32c(a + b). Crc32cExtend(0, data) == Crc32c(data).
uint32_t Crc32cExtend(uint32_t crc, absl::string_view data);

// The CRC32C of `data`.
inline uint32_t Crc32c(absl::string_view data) { return Crc32cExtend(0, data); }

// The portable implementation, whatever the processor (for tests and benchmarks).
uint32_t Crc32cExtendPortable(uint32_t crc, absl::string_view data);

// Whether Crc32cExtend uses the processor's CRC32C instruction.
bool Crc32cIsHardwareAccelerated();

// Masking of stored checksums (LevelDB's: rotate right by 15 bits and add a constant).
inline constexpr uint32_t kCrc32cMaskDelta = 0xa282ead8u;
inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrc32cMaskDelta; }
inline uint32_t UnmaskCrc32c(uint32_t masked) {
  uint32_t rot = masked - kCrc32cMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace omniroute::durability

#endif  // OMNIROUTE_DURABILITY_CRC32C_H_
