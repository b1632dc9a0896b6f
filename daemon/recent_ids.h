// What the ingest remembers of the records it acknowledged, so that an id
// re-sent with a different payload is answered as a conflict instead of being
// dropped in silence by the store's first-wins insert (store/store_writer.h).
//
// Per (kind, model, id) it keeps a digest of the payload: everything stored
// but ts and received_at (ts defaults to the arrival time, so a retry that
// omits it is still the same record). Feature and attribute pairs are
// combined without regard to their order, and null features do not count,
// so a retry after a reload that reordered, added or removed features is
// still the same payload.
//
// Bounded: two generations of `capacity / 2` entries; when the newer fills,
// the older is forgotten. A conflict with a record acknowledged longer ago,
// before a restart, or by a request racing this one is not seen here; the
// store then keeps the first as always (counted in
// modelwatch_store_duplicates_ignored_total).
//
// Ids are client-chosen, so the table key is SipHash-2-4 under a random
// per-process key (Aumasson and Bernstein, "SipHash: a fast short-input
// PRF", 2012): a client cannot make ids collide on purpose.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "core/record.h"

namespace mw::daemon {

struct RecordDigest {
    std::uint64_t key = 0;      // of (kind, model, id)
    std::uint64_t payload = 0;  // of what is stored but ts and received_at
};

class RecentIds {
public:
    // `seed` keys the id hash; production passes a random one, tests a fixed one.
    RecentIds(std::size_t capacity, std::uint64_t seed);

    RecordDigest digest(std::string_view model, const ModelSchema& schema, const Prediction& record) const;
    RecordDigest digest(std::string_view model, const Outcome& record) const;

    // The positions in `records` of ids acknowledged before with a different payload.
    std::vector<std::size_t> conflicts(std::span<const RecordDigest> records) const;
    // Remembers acknowledged records; the first payload of an id stays.
    void remember(std::span<const RecordDigest> records);

private:
    // One generation: open addressing with linear probing over a
    // power-of-two array kept at most half full, allocated at its first
    // insert (an idle daemon holds none). It replaced std::unordered_map,
    // whose node per id was half of this class's cost per ingested row
    // (bench/RESULTS.md, "The daemon's own CPU per row"). Keys are SipHash
    // values, so their low bits spread ids evenly over the slots whatever
    // ids clients choose. Key 0 marks an empty slot; a key that hashes to 0
    // is kept as 1 (a 2^-64 chance of sharing another id's key, as any
    // 64-bit digest has).
    struct Slot {
        std::uint64_t key = 0;
        std::uint64_t payload = 0;
    };
    class Generation {
    public:
        explicit Generation(std::size_t max_size);
        // The payload remembered for `key`, or null.
        const std::uint64_t* find(std::uint64_t key) const;
        // Keeps the payload already there, if any.
        void insert(std::uint64_t key, std::uint64_t payload);
        std::size_t size() const { return size_; }
        void clear();

    private:
        std::size_t slot_count_;  // a power of two, at least twice max_size
        std::vector<Slot> slots_;  // empty until the first insert
        std::size_t size_ = 0;
    };

    std::uint64_t key_of(RecordKind kind, std::string_view model, std::string_view id) const;

    std::size_t generation_size_;
    std::uint64_t k0_;
    std::uint64_t k1_;
    mutable std::mutex mutex_;
    Generation newer_;
    Generation older_;
};

}  // namespace mw::daemon
