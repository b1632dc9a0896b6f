// Reader of the reference vectors under tests/stats/vectors/ (written by
// scripts/gen_stats_vectors.py; the format is described there): records of
// "key token..." lines between "case NAME" and "end".
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace mw::stats::testing {

struct VectorCase {
    std::string name;
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;  // in file order

    bool has(const std::string& key) const;
    // The tokens of `key` as numbers; throws if the key is missing.
    std::vector<double> numbers(const std::string& key) const;
    double number(const std::string& key, std::size_t index = 0) const;
    std::string text(const std::string& key) const;
    // A sample stored as "<key> values..." or as "gen_<key> seed n scale shift levels".
    std::vector<double> sample(const std::string& key) const;
};

// Reads tests/stats/vectors/<file_name>; throws when it cannot be read.
std::vector<VectorCase> read_vectors(const std::string& file_name);

// The splitmix64-based sample of the generator script.
std::vector<double> generated_sample(unsigned long long seed, std::size_t n, double scale, double shift, double levels);

// |actual - expected| <= relative * |expected| + absolute; also true when both are
// the same infinity or both NaN.
bool close(double actual, double expected, double relative, double absolute = 0.0);

// The p-value criterion of the brief: within 1e-6 absolute or 1e-6 relative.
bool p_value_close(double actual, double expected);

}  // namespace mw::stats::testing
