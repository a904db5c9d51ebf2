#include "omniroute/durability/crc32c.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace omniroute::durability {
namespace {

// Bit-at-a-time reference.
uint32_t Reference(absl::string_view data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return crc ^ 0xffffffffu;
}

std::string Bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

// The vectors of RFC 3720 (iSCSI) appendix B.4 and the usual check value.
TEST(Crc32cTest, StandardVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("a"), 0xC1D04330u);

  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);

  // An iSCSI SCSI Read (10) command PDU.
  std::string pdu = Bytes({0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                           0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                           0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                           0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  EXPECT_EQ(Crc32c(pdu), 0xD9963A56u);
}

TEST(Crc32cTest, PortableMatchesTheVectors) {
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cExtendPortable(0, std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32cExtendPortable(0, std::string(32, '\xff')), 0x62A8AB43u);
}

// Every length 0..300 at every alignment 0..7, against the bit-at-a-time reference, for both
// the accelerated and the portable paths.
TEST(Crc32cTest, MatchesReferenceAtEveryLengthAndAlignment) {
  std::string buffer;
  uint32_t x = 12345;
  for (int i = 0; i < 400; ++i) {
    x = x * 1103515245u + 12345u;
    buffer.push_back(static_cast<char>(x >> 16));
  }
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t length = 0; length <= 300; ++length) {
      absl::string_view data(buffer.data() + offset, length);
      uint32_t want = Reference(data);
      ASSERT_EQ(Crc32c(data), want) << "offset " << offset << " length " << length;
      ASSERT_EQ(Crc32cExtendPortable(0, data), want) << "offset " << offset << " length " << length;
    }
  }
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string data = "The quick brown fox jumps over the lazy dog, twice over and again.";
  for (size_t split = 0; split <= data.size(); ++split) {
    absl::string_view a(data.data(), split);
    absl::string_view b(data.data() + split, data.size() - split);
    EXPECT_EQ(Crc32cExtend(Crc32c(a), b), Crc32c(data)) << split;
    EXPECT_EQ(Crc32cExtendPortable(Crc32cExtendPortable(0, a), b), Crc32c(data)) << split;
  }
}

TEST(Crc32cTest, MaskRoundTripsAndDiffers) {
  for (uint32_t crc : {0u, 1u, 0xE3069283u, 0xffffffffu, 0x80000000u}) {
    EXPECT_NE(MaskCrc32c(crc), crc);
    EXPECT_NE(MaskCrc32c(MaskCrc32c(crc)), MaskCrc32c(crc));
    EXPECT_EQ(UnmaskCrc32c(MaskCrc32c(crc)), crc);
  }
}

TEST(Crc32cTest, ReportsAcceleration) {
  // Informational: both paths are checked above whatever this says.
  RecordProperty("hardware", Crc32cIsHardwareAccelerated() ? "yes" : "no");
  SUCCEED();
}

}  // namespace
}  // namespace omniroute::durability
