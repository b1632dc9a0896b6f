#include "core/privacy_key.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/privacy_key_id.h"

namespace mw {

bool is_privacy_key_id(std::string_view text) {
    return text.size() == privacy_key_id_digits &&
           std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

PrivacyKey::PrivacyKey(std::size_t capacity) : capacity_(capacity) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    mapped_ = (std::max<std::size_t>(capacity, 1) + page - 1) / page * page;
    // A mapping of its own: madvise and mlock work on whole pages, and no
    // other data shares them (nor is copied with them by a realloc).
    void* memory = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(memory);
    not_dumped_ = ::madvise(memory, mapped_, MADV_DONTDUMP) == 0;
    // Best effort: without CAP_IPC_LOCK the limit is RLIMIT_MEMLOCK.
    locked_ = ::mlock(memory, mapped_) == 0;
}

PrivacyKey::~PrivacyKey() {
    OPENSSL_cleanse(data_, mapped_);
    if (locked_) ::munlock(data_, mapped_);
    ::munmap(data_, mapped_);
}

std::shared_ptr<const PrivacyKey> PrivacyKey::from_bytes(std::string_view bytes) {
    auto key = std::make_shared<PrivacyKey>(bytes.size());
    std::memcpy(key->writable(), bytes.data(), bytes.size());
    key->set_size(bytes.size());
    key->finish();
    return key;
}

void PrivacyKey::set_size(std::size_t size) {
    if (size > capacity_) throw std::logic_error("PrivacyKey::set_size past its capacity");
    size_ = size;
    OPENSSL_cleanse(data_ + size_, mapped_ - size_);
}

void PrivacyKey::finish() {
    static constexpr std::string_view message = "modelwatch key id";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), data_, static_cast<int>(size_), reinterpret_cast<const unsigned char*>(message.data()),
             message.size(), digest, &length) == nullptr ||
        length != 32)
        throw std::runtime_error("HMAC-SHA256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    id_.clear();
    for (std::size_t i = 0; i < privacy_key_id_digits / 2; ++i) {
        id_.push_back(hex[digest[i] >> 4]);
        id_.push_back(hex[digest[i] & 0x0f]);
    }
    OPENSSL_cleanse(digest, sizeof digest);
}

bool PrivacyKey::same_bytes(const PrivacyKey& other) const {
    return size_ == other.size_ && CRYPTO_memcmp(data_, other.data_, size_) == 0;
}

}  // namespace mw
