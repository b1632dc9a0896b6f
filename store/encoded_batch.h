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
    // The model of every row, and the id of the key the privacy policy
    // hashed its values under (core/privacy_key.h; "" when it hashed
    // nothing). The drain stores a batch only under a key PostgreSQL records
    // for the model (store/privacy_keys.h, spooled_key_refusal). A frame
    // spooled by a version before key ids were spooled reads back with an
    // empty model: not checked, as it was not then.
    std::string model;
    std::string privacy_key_id;
};

}  // namespace mw::store
