// The HMAC key of a privacy policy (core/privacy.h), held where it does not
// outlive its use: its bytes live in one page-aligned anonymous mapping of
// their own that is excluded from core dumps (madvise MADV_DONTDUMP), locked
// out of swap when the process may lock memory (mlock; RLIMIT_MEMLOCK is
// 8 MiB on Debian 12, a key needs one page), and wiped with OPENSSL_cleanse
// before the mapping is returned. The key is read straight into it
// (config/privacy_section.cpp) and used through view() by HMAC; copies of a
// configuration share it, they never copy the bytes.
//
// What is not protected: OpenSSL's HMAC copies the key into its own context
// for the length of one call (and cleanses it when freeing that context);
// a debugger or /proc/<pid>/mem of the daemon's user reads it like any other
// memory; the key file itself is on disk.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace mw {

class PrivacyKey {
public:
    // Room for `capacity` bytes; size() is 0 until set_size().
    explicit PrivacyKey(std::size_t capacity);
    ~PrivacyKey();
    PrivacyKey(const PrivacyKey&) = delete;
    PrivacyKey& operator=(const PrivacyKey&) = delete;

    // A key holding `bytes` (tests, the fuzzer; the daemon reads its file into writable()).
    static std::shared_ptr<const PrivacyKey> from_bytes(std::string_view bytes);

    // Filling: the buffer to read into, then how much of it is the key (the
    // rest is wiped), then finish() to compute the key id.
    char* writable() { return data_; }
    std::size_t capacity() const { return capacity_; }
    void set_size(std::size_t size);
    void finish();

    std::string_view view() const { return {data_, size_}; }
    std::size_t size() const { return size_; }
    // 8 lowercase hex digits of HMAC-SHA256(key, "modelwatch key id"): names
    // the key in hashes (collectors/privacy.h), in model_privacy and in logs
    // without telling anything of it (a PRF's output on a fixed message).
    const std::string& id() const { return id_; }
    // Whether the mapping is out of core dumps and locked in memory.
    bool not_dumped() const { return not_dumped_; }
    bool locked() const { return locked_; }

    // Same bytes (compared in constant time).
    bool same_bytes(const PrivacyKey& other) const;

private:
    char* data_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t mapped_ = 0;
    std::size_t size_ = 0;
    std::string id_;
    bool not_dumped_ = false;
    bool locked_ = false;
};

}  // namespace mw
