// Throughput of the CSV reader (core/csv.h) on a generated file of about
// 100 MB (8 columns: ids, timestamps, numbers, categories, quoted text with
// commas, doubled quotes and some line ends, empty fields), read from memory
// and from the file through an std::ifstream, next to two floors for
// comparison: std::getline splitting on commas (what the hand-written
// readers did, with no quoting at all) and counting line ends with memchr.
// Usage: csv_reader_bench [megabytes] (default 100)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/csv.h"

namespace {

std::string generate(std::size_t bytes) {
    std::string text = "id,ts,score,amount,region,comment,empty,note\n";
    const char* regions[] = {"north", "south", "east", "west", "islands"};
    std::uint64_t state = 20261125;
    auto random = [&state] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return state >> 33;
    };
    for (std::uint64_t i = 0; text.size() < bytes; ++i) {
        const std::uint64_t r = random();
        fmt::format_to(std::back_inserter(text), "{},2024-05-01T11:{:02}:{:02}Z,{:.6f},{},{},", i, r % 60,
                       (r >> 6) % 60, static_cast<double>(r % 1000000) / 1e6, r % 100000, regions[r % 5]);
        if (r % 7 == 0)
            text += "\"said \"\"no\"\", twice\nthen left\"";
        else
            text += "\"plain, with a comma\"";
        text += ",,";
        text += r % 3 == 0 ? "\"quoted\"\n" : "bare\n";
    }
    return text;
}

// Best of `repetitions` runs, in MB/s; `run` returns a checksum printed so it is not optimised away.
void measure(const char* name, std::size_t bytes, int repetitions, const std::function<std::uint64_t()>& run) {
    double best_s = 1e300;
    std::uint64_t checksum = 0;
    for (int i = 0; i < repetitions; ++i) {
        const auto start = std::chrono::steady_clock::now();
        checksum = run();
        best_s = std::min(best_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::printf("%-44s %8.0f MB/s  (%.3f s, checksum %llu)\n", name, static_cast<double>(bytes) / 1e6 / best_s,
                best_s, static_cast<unsigned long long>(checksum));
}

std::uint64_t drain(mw::csv::Reader& reader) {
    mw::csv::Record record;
    std::uint64_t field_bytes = 0;
    mw::csv::Status status;
    while ((status = reader.next(record)) == mw::csv::Status::record)
        for (std::size_t i = 0; i < record.size(); ++i) field_bytes += record[i].size();
    if (status == mw::csv::Status::error) {
        std::fprintf(stderr, "csv_reader_bench: %s\n", reader.error().to_string().c_str());
        std::exit(1);
    }
    return field_bytes;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t megabytes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
    const std::string text = generate(megabytes * 1'000'000);
    const std::filesystem::path path = std::filesystem::temp_directory_path() / "modelwatch_csv_reader_bench.csv";
    std::ofstream(path, std::ios::binary).write(text.data(), static_cast<std::streamsize>(text.size()));
    std::printf("input: %.1f MB, %s\n", static_cast<double>(text.size()) / 1e6, path.c_str());
    const int repetitions = 3;

    measure("mw::csv::Reader, string_view", text.size(), repetitions, [&] {
        mw::csv::Reader reader{std::string_view(text)};
        return drain(reader);
    });
    measure("mw::csv::Reader, std::ifstream (page cache)", text.size(), repetitions, [&] {
        std::ifstream in(path, std::ios::binary);
        mw::csv::Reader reader(in);
        return drain(reader);
    });
    measure("floor: std::getline + split on ','", text.size(), repetitions, [&] {
        std::ifstream in(path, std::ios::binary);
        std::string line;
        std::uint64_t field_bytes = 0;
        while (std::getline(in, line)) {
            std::size_t start = 0;
            while (true) {
                const std::size_t comma = line.find(',', start);
                field_bytes += (comma == std::string::npos ? line.size() : comma) - start;
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
        }
        return field_bytes;
    });
    measure("floor: memchr line ends, string_view", text.size(), repetitions, [&] {
        std::uint64_t lines = 0;
        const char* p = text.data();
        const char* end = p + text.size();
        while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr) {
            ++lines;
            ++p;
        }
        return lines;
    });
    std::filesystem::remove(path);
    return 0;
}
