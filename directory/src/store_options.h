// The RocksDB options of the directory's store: tuned for point lookups of small records in
// a store far larger than memory (docs/DIRECTORY.md, "Storage").

#ifndef OMNIROUTE_DIRECTORY_SRC_STORE_OPTIONS_H_
#define OMNIROUTE_DIRECTORY_SRC_STORE_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include "omniroute/directory/directory.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"

namespace omniroute::directory::internal {

// The compression the store uses: LZ4 when this build of RocksDB has it, else Snappy, else
// none (Debian's librocksdb has all of them).
rocksdb::CompressionType ChooseCompression();

rocksdb::DBOptions MakeDbOptions(rocksdb::Env* env);

// Every column family of keys.h with its options, sharing `cache`.
std::vector<rocksdb::ColumnFamilyDescriptor> MakeColumnFamilies(
    const std::shared_ptr<rocksdb::Cache>& cache);

}  // namespace omniroute::directory::internal

#endif  // OMNIROUTE_DIRECTORY_SRC_STORE_OPTIONS_H_
