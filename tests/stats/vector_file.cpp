#include "vector_file.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mw::stats::testing {

bool VectorCase::has(const std::string& key) const {
    for (const auto& field : fields) {
        if (field.first == key) return true;
    }
    return false;
}

std::vector<double> VectorCase::numbers(const std::string& key) const {
    for (const auto& [field_key, tokens] : fields) {
        if (field_key != key) continue;
        std::vector<double> out;
        out.reserve(tokens.size());
        for (const auto& token : tokens) out.push_back(std::strtod(token.c_str(), nullptr));
        return out;
    }
    throw std::runtime_error("vector case " + this->name + " has no field " + key);
}

double VectorCase::number(const std::string& key, std::size_t index) const { return numbers(key).at(index); }

std::string VectorCase::text(const std::string& key) const {
    for (const auto& [field_key, tokens] : fields) {
        if (field_key == key && !tokens.empty()) return tokens.front();
    }
    throw std::runtime_error("vector case " + this->name + " has no field " + key);
}

std::vector<double> VectorCase::sample(const std::string& key) const {
    if (has(key)) return numbers(key);
    const std::vector<double> spec = numbers("gen_" + key);
    return generated_sample(static_cast<unsigned long long>(spec.at(0)), static_cast<std::size_t>(spec.at(1)),
                            spec.at(2), spec.at(3), spec.at(4));
}

std::vector<VectorCase> read_vectors(const std::string& file_name) {
    const std::string path = std::string(MODELWATCH_SOURCE_DIR) + "/tests/stats/vectors/" + file_name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::vector<VectorCase> cases;
    std::string line;
    VectorCase current;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::string key;
        words >> key;
        if (key == "case") {
            current = VectorCase{};
            words >> current.name;
            inside = true;
        } else if (key == "end") {
            if (inside) cases.push_back(std::move(current));
            inside = false;
        } else if (inside) {
            std::vector<std::string> tokens;
            std::string token;
            while (words >> token) tokens.push_back(token);
            current.fields.emplace_back(key, std::move(tokens));
        }
    }
    return cases;
}

std::vector<double> generated_sample(unsigned long long seed, std::size_t n, double scale, double shift, double levels) {
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        unsigned long long z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z = z ^ (z >> 31);
        const double u = static_cast<double>(z >> 11) * 0x1.0p-53;
        out[i] = levels > 0 ? std::floor(u * levels) * scale + shift : u * scale + shift;
    }
    return out;
}

bool close(double actual, double expected, double relative, double absolute) {
    if (std::isnan(expected)) return std::isnan(actual);
    if (std::isinf(expected)) return actual == expected;
    return std::fabs(actual - expected) <= relative * std::fabs(expected) + absolute;
}

bool p_value_close(double actual, double expected) {
    return close(actual, expected, 0.0, 1e-6) || close(actual, expected, 1e-6, 0.0);
}

}  // namespace mw::stats::testing
