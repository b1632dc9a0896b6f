// The reference vectors of the detector tests (tests/detectors/vectors/: River's,
// scikit-learn's and NannyML's outputs) and the shared ways of reading them.
// Header-only, like the rest of tests/support.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mw::testing {

inline const std::string detector_vectors_dir = std::string(MODELWATCH_SOURCE_DIR) + "/tests/detectors/vectors/";

// A one-column CSV of numbers with a header line, as the generators write streams.
inline std::vector<double> read_stream(const std::string& file) {
    std::ifstream in(detector_vectors_dir + file);
    if (!in) throw std::runtime_error("cannot read " + detector_vectors_dir + file);
    std::vector<double> values;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) values.push_back(std::stod(line));
    return values;
}

}  // namespace mw::testing
