// A batch of records already encoded as PostgreSQL COPY text rows: what the
// spool keeps on disk and what StoreWriter writes. Encoding once, before the
// spool, means a replay after a crash writes exactly the bytes that were
// acknowledged, and the drain does no per-record work.
#pragma once

#include <cstdint>
#include <string>

#include "core/record.h"

namespace mw::store {

struct EncodedBatch {
    RecordKind kind = RecordKind::prediction;
    std::uint32_t record_count = 0;
    // Rows in the column order of store/copy_encoding.h for `kind`, each
    // ending in '\n'.
    std::string copy_rows;
};

}  // namespace mw::store
