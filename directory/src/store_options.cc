#include "store_options.h"

#include <algorithm>

#include "keys.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace omniroute::directory::internal {
namespace {

enum class Access { kPointLookups, kScans, kSmall };

rocksdb::ColumnFamilyOptions MakeCfOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           Access access, size_t write_buffer_bytes) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks live in the block cache (bounded memory, however large the
  // store), at high priority, with the top level of the partitioned ones and L0's pinned.
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned index: only the partitions that lookups touch need to be in the cache.
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.format_version = 5;
  table.block_size = 4096;
  if (access == Access::kPointLookups) {
    // A full bloom filter per file (10 bits/key, ~1 % false positives), partitioned like the
    // index: an unknown handle or a free id costs no data block read.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.partition_filters = true;
    table.optimize_filters_for_memory = true;
    // A hash index inside each data block: a point lookup skips the binary search.
    table.data_block_index_type =
        rocksdb::BlockBasedTableOptions::DataBlockIndexType::kDataBlockBinaryAndHash;
    table.data_block_hash_table_util_ratio = 0.75;
  } else if (access == Access::kScans) {
    table.block_size = 16 * 1024;
  }

  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.compression = ChooseCompression();
  cf.bottommost_compression = cf.compression;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.write_buffer_size = write_buffer_bytes;
  cf.max_write_buffer_number = 3;
  cf.target_file_size_base = 64 << 20;
  cf.max_bytes_for_level_base = 256 << 20;
  if (access == Access::kPointLookups) {
    // A bloom filter over the memtable too (the newest keys are read most).
    cf.memtable_prefix_bloom_size_ratio = 0.02;
    cf.memtable_whole_key_filtering = true;
  }
  return cf;
}

}  // namespace

rocksdb::CompressionType ChooseCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (rocksdb::CompressionType c : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), c) != supported.end()) return c;
  }
  return rocksdb::kNoCompression;
}

rocksdb::DBOptions MakeDbOptions(rocksdb::Env* env) {
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  if (env != nullptr) db.env = env;
  // The daemon's machines are small (2 cores on the build machines): one flush and one
  // compaction at a time.
  db.max_background_jobs = 2;
  db.bytes_per_sync = 1 << 20;
  db.wal_bytes_per_sync = 1 << 20;
  // A torn tail of the write-ahead log after a crash is the writes that never returned.
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db.max_total_wal_size = 256 << 20;
  db.keep_log_file_num = 4;
  db.max_log_file_size = 16 << 20;
  db.max_manifest_file_size = 64 << 20;
  return db;
}

std::vector<rocksdb::ColumnFamilyDescriptor> MakeColumnFamilies(
    const std::shared_ptr<rocksdb::Cache>& cache) {
  return {
      {kCfMeta, MakeCfOptions(cache, Access::kSmall, 4 << 20)},
      {kCfCustomers, MakeCfOptions(cache, Access::kPointLookups, 64 << 20)},
      {kCfHandles, MakeCfOptions(cache, Access::kPointLookups, 64 << 20)},
      {kCfInteractions, MakeCfOptions(cache, Access::kPointLookups, 32 << 20)},
      {kCfHistory, MakeCfOptions(cache, Access::kScans, 32 << 20)},
      {kCfEngineers, MakeCfOptions(cache, Access::kSmall, 4 << 20)},
  };
}

}  // namespace omniroute::directory::internal
