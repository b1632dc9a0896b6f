#include "daemon/recent_ids.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <string>

namespace mw::daemon {
namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int bits) { return (x << bits) | (x >> (64 - bits)); }

// SipHash-2-4 (https://github.com/veorq/SipHash, the reference siphash.c):
// two compression rounds per 8-byte word, four finalisation rounds. Words are
// read in host byte order; the hash never leaves the process.
std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1, std::string_view data) {
    std::uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    std::uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    std::uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    std::uint64_t v3 = 0x7465646279746573ULL ^ k1;
    const auto round = [&] {
        v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
        v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
        v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
        v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
    };
    const std::size_t size = data.size();
    std::size_t at = 0;
    for (; at + 8 <= size; at += 8) {
        std::uint64_t word;
        std::memcpy(&word, data.data() + at, 8);
        v3 ^= word, round(), round(), v0 ^= word;
    }
    std::uint64_t last = static_cast<std::uint64_t>(size) << 56;
    for (std::size_t i = 0; at + i < size; ++i)
        last |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[at + i])) << (8 * i);
    v3 ^= last, round(), round(), v0 ^= last;
    v2 ^= 0xff;
    round(), round(), round(), round();
    return v0 ^ v1 ^ v2 ^ v3;
}

// The payload digest is not a table key, so the faster std::hash does.
std::uint64_t plain_hash(std::string_view text) { return std::hash<std::string_view>{}(text); }

void put_text(std::string& out, std::string_view text) {
    out.append(text);
    out.push_back('\0');
}

void put_double(std::string& out, double value) {
    char bytes[sizeof value];
    std::memcpy(bytes, &value, sizeof value);
    out.append(bytes, sizeof value);
}

void put_optional(std::string& out, char tag, const std::optional<std::string>& text) {
    if (!text) return out.push_back('-');
    out.push_back(tag);
    put_text(out, *text);
}

void put_optional(std::string& out, char tag, const std::optional<double>& value) {
    if (!value) return out.push_back('-');
    out.push_back(tag);
    put_double(out, *value);
}

// One feature as a digest term; null values are no term at all, as a
// declared feature that was not sent is stored as null.
std::uint64_t feature_term(std::string& scratch, std::string_view name, const Value& value) {
    scratch.clear();
    scratch.push_back('f');
    put_text(scratch, name);
    switch (value.index()) {
        case 0: return 0;
        case 1: scratch.push_back('n'), put_double(scratch, std::get<double>(value)); break;
        case 2: scratch.push_back(std::get<bool>(value) ? 't' : 'F'); break;
        default: scratch.push_back('s'), put_text(scratch, std::get<std::string>(value)); break;
    }
    return plain_hash(scratch);
}

}  // namespace

RecentIds::Generation::Generation(std::size_t max_size) : slot_count_(std::bit_ceil(2 * max_size)) {}

const std::uint64_t* RecentIds::Generation::find(std::uint64_t key) const {
    if (slots_.empty()) return nullptr;
    const std::size_t mask = slot_count_ - 1;
    for (std::size_t at = key & mask;; at = (at + 1) & mask) {
        if (slots_[at].key == key) return &slots_[at].payload;
        if (slots_[at].key == 0) return nullptr;
    }
}

void RecentIds::Generation::insert(std::uint64_t key, std::uint64_t payload) {
    if (slots_.empty()) slots_.resize(slot_count_);
    const std::size_t mask = slot_count_ - 1;
    for (std::size_t at = key & mask;; at = (at + 1) & mask) {
        if (slots_[at].key == key) return;
        if (slots_[at].key == 0) {
            slots_[at] = {key, payload};
            ++size_;
            return;
        }
    }
}

void RecentIds::Generation::clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    size_ = 0;
}

RecentIds::RecentIds(std::size_t capacity, std::uint64_t seed)
    : generation_size_(std::max<std::size_t>(capacity / 2, 1)),
      k0_(seed),
      k1_(rotl(seed, 32) ^ 0x9e3779b97f4a7c15ULL),
      newer_(generation_size_),
      older_(generation_size_) {}

std::uint64_t RecentIds::key_of(RecordKind kind, std::string_view model, std::string_view id) const {
    std::string text;
    text.reserve(model.size() + id.size() + 2);
    text.push_back(static_cast<char>(kind));
    put_text(text, model);
    text.append(id);
    const std::uint64_t key = siphash24(k0_, k1_, text);
    return key != 0 ? key : 1;  // 0 marks an empty slot (Generation)
}

RecordDigest RecentIds::digest(std::string_view model, const ModelSchema& schema, const Prediction& record) const {
    std::string scratch;
    put_text(scratch, record.model_version);
    put_optional(scratch, 'l', record.label);
    put_optional(scratch, 'v', record.value);
    put_optional(scratch, 's', record.score);
    std::uint64_t payload = plain_hash(scratch);
    // Sums: the order of features and attributes is not part of the payload.
    for (std::size_t i = 0; i < record.features.size() && i < schema.features.size(); ++i)
        payload += feature_term(scratch, schema.features[i].name, record.features[i]);
    for (const auto& [name, value] : record.undeclared_features) payload += feature_term(scratch, name, value);
    for (const auto& [name, value] : record.attributes) {
        scratch.assign("a");
        put_text(scratch, name);
        put_text(scratch, value);
        payload += plain_hash(scratch);
    }
    return {key_of(RecordKind::prediction, model, record.id), payload};
}

RecordDigest RecentIds::digest(std::string_view model, const Outcome& record) const {
    std::string scratch;
    put_optional(scratch, 'l', record.label);
    put_optional(scratch, 'v', record.value);
    return {key_of(RecordKind::outcome, model, record.id), plain_hash(scratch)};
}

std::vector<std::size_t> RecentIds::conflicts(std::span<const RecordDigest> records) const {
    std::vector<std::size_t> found;
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < records.size(); ++i) {
        for (const Generation* generation : {&newer_, &older_}) {
            const std::uint64_t* known = generation->find(records[i].key);
            if (known == nullptr) continue;
            if (*known != records[i].payload) found.push_back(i);
            break;
        }
    }
    return found;
}

void RecentIds::remember(std::span<const RecordDigest> records) {
    std::lock_guard lock(mutex_);
    for (const auto& record : records) {
        if (older_.find(record.key) != nullptr) continue;  // the first payload stays
        newer_.insert(record.key, record.payload);
        if (newer_.size() >= generation_size_) {
            // The older generation is forgotten; its slots serve the next.
            std::swap(older_, newer_);
            newer_.clear();
        }
    }
}

}  // namespace mw::daemon
