// Mutated versions of the reference file must give a config or errors, never
// an exception or a crash (run under the sanitizer build too).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "config/loader.h"

using namespace mw::config;

namespace {

std::string read_reference() {
    std::ifstream file(std::string(MODELWATCH_SOURCE_DIR) + "/config/modelwatch.yaml", std::ios::binary);
    std::ostringstream stream;
    stream << file.rdbuf();
    // Its placeholder tokens (64 zeros) are refused by design; mutations
    // start from a valid file, so they get hashes that are not placeholders.
    std::string text = stream.str();
    const std::string zeros(64, '0');
    std::string real_hash(64, '0');
    real_hash.back() = '1';
    for (auto at = text.find(zeros); at != std::string::npos; at = text.find(zeros))
        text.replace(at, zeros.size(), real_hash);
    return text;
}

// Characters that change YAML structure are more likely to reach the loader's
// less travelled paths than uniformly random bytes.
constexpr std::string_view interesting = ":-[]{},#&*!|>'\"%@` \t\n0123456789abcxyzMiBs.";

std::string mutate(const std::string& original, std::mt19937& random) {
    std::string text = original;
    const auto pick = [&](std::size_t bound) { return bound == 0 ? 0 : static_cast<std::size_t>(random() % bound); };
    const int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits && !text.empty(); ++e) {
        const std::size_t at = pick(text.size());
        switch (pick(6)) {
            case 0: text[at] = interesting[pick(interesting.size())]; break;
            case 1: text[at] = static_cast<char>(random() & 0xff); break;
            case 2: text.erase(at, 1 + pick(40)); break;
            case 3: text.resize(at); break;
            case 4: text.insert(at, 1, interesting[pick(interesting.size())]); break;
            default: {
                // Duplicate a stretch elsewhere: repeated keys and list items.
                const std::size_t length = 1 + pick(120);
                text.insert(pick(text.size()), text.substr(at, length));
                break;
            }
        }
    }
    return text;
}

}  // namespace

TEST_CASE("mutated reference files give a config or errors, never an exception") {
    const std::string reference = read_reference();
    REQUIRE(reference.size() > 1000);
    const Environment environment = [](const std::string&) -> std::optional<std::string> { return "dbname=x"; };
    std::mt19937 random(20261125);  // fixed seed: the same mutations every run
    int loaded = 0;
    int rejected = 0;
    for (int i = 0; i < 400; ++i) {
        const std::string text = mutate(reference, random);
        const auto lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
        LoadResult result;
        INFO("mutation " << i);
        REQUIRE_NOTHROW(result = load_config_text(text, "mutated.yaml", environment));
        CHECK(result.ok() == result.errors.empty());
        if (result.ok()) {
            ++loaded;
            CHECK_FALSE(result.config->models.empty());
            continue;
        }
        ++rejected;
        for (const auto& error : result.errors) {
            INFO(to_string(error));
            CHECK(error.line >= 1);
            CHECK(error.line <= lines + 1);
            CHECK_FALSE(error.message.empty());
        }
    }
    // Both outcomes occur, so the loop exercised acceptance and rejection.
    CHECK(loaded > 0);
    CHECK(rejected > 0);
}

TEST_CASE("deeply nested and odd documents are errors, not crashes") {
    const Environment environment = [](const std::string&) -> std::optional<std::string> { return "dbname=x"; };
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    for (const std::string& text : {deep, std::string("models: &a [*a]\n"), std::string("? [a, b]\n: c\n"),
                                    std::string("\xff\xfe\x00\x01"), std::string("server: !!binary aGk=\n")}) {
        LoadResult result;
        REQUIRE_NOTHROW(result = load_config_text(text, "odd.yaml", environment));
        CHECK_FALSE(result.ok());
        CHECK_FALSE(result.errors.empty());
    }
}
