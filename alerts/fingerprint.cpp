#include "alerts/fingerprint.h"

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>

namespace mw::alerts {
namespace {

struct DigestContextFree {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

void update_length_prefixed(EVP_MD_CTX* context, std::string_view field) {
    std::array<unsigned char, 8> length{};
    auto size = static_cast<std::uint64_t>(field.size());
    for (std::size_t i = length.size(); i-- > 0;) {
        length[i] = static_cast<unsigned char>(size & 0xff);
        size >>= 8;
    }
    // EVP failures here mean OpenSSL itself is broken (SHA-256 is always
    // available), which no input can cause: an exception, not a value.
    if (EVP_DigestUpdate(context, length.data(), length.size()) != 1 ||
        EVP_DigestUpdate(context, field.data(), field.size()) != 1)
        throw std::runtime_error("EVP_DigestUpdate failed for SHA-256");
}

}  // namespace

std::string fingerprint(std::string_view model, std::string_view kind, std::string_view subject) {
    const std::unique_ptr<EVP_MD_CTX, DigestContextFree> context(EVP_MD_CTX_new());
    if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("EVP_DigestInit_ex failed for SHA-256");
    update_length_prefixed(context.get(), model);
    update_length_prefixed(context.get(), kind);
    update_length_prefixed(context.get(), subject);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_size = 0;
    if (EVP_DigestFinal_ex(context.get(), digest.data(), &digest_size) != 1 || digest_size < 16)
        throw std::runtime_error("EVP_DigestFinal_ex failed for SHA-256");

    constexpr std::string_view hex_digits = "0123456789abcdef";
    std::string hex;
    hex.reserve(32);
    for (std::size_t i = 0; i < 16; ++i) {
        hex.push_back(hex_digits[digest[i] >> 4]);
        hex.push_back(hex_digits[digest[i] & 0x0f]);
    }
    return hex;
}

}  // namespace mw::alerts
