// StoreWriter throughput against raw COPY, side by side in one run.
//
//   store_writer_bench ADMIN_DSN [RECORDS] [--midnight SECONDS]
//
// ADMIN_DSN reaches a PostgreSQL where the user may create databases, e.g.
// the one `scripts/pg-throwaway.sh start /tmp/pg-bench` prints. The bench
// creates a database mw_store_bench (dropping an old one), generates RECORDS
// (default 1,000,000) predictions with 10 features over the last 3 days,
// encodes them in 50,000-record batches, and measures:
//   encode  append_prediction_rows alone (the ingest hot path),
//   writer  StoreWriter::write, one 50,000-record batch per transaction,
//   replay  the same writes again (every record a duplicate),
//   \copy   psql's \copy of the same rows into the same table, emptied.
// Each is reported in wall-clock time and in CPU time (the client thread for
// encode; the whole PostgreSQL cluster, read from /proc, for the others, so
// the server must run on this host), since on a shared machine the wall
// clock measures the neighbours too.
// \copy is the ceiling: the writer adds the boundary claims of the rows
// received within an hour of midnight (none when run away from midnight)
// and, on a replay, the staging table and the duplicate check; the target
// is writer >= 0.8 x \copy.
// Every row is received "now" (one day partition), or with --midnight
// SECONDS, SECONDS before the last UTC midnight in even batches and SECONDS
// after it in odd ones: two day partitions, and with SECONDS below
// store::boundary_window_seconds every row claims its key on that midnight's
// boundary, so the boundary's price is measured at any time of day.
//
//   store_writer_bench ADMIN_DSN RECORDS --profiles ROUNDS
//
// The cost of profile-only models (store_raw: false, store/profile_writer.h)
// instead: the same writes as a model that stores its rows, as a profile-only
// one (1-hour buckets: each 50,000-record write over 3 days touches about 72
// of them, so it writes about 72 chunks), and as a profile-only one with
// drift.segments [sex, region] (2 and 5 values), in ROUNDS rounds of the
// three in turn on an emptied table, so that the neighbours' load falls on
// all three alike. Per mode: the median wall time, the writer thread's CPU
// (stripping and profiling happen in the client), the server's CPU, and the
// bytes stored (predictions and chunks, pg_total_relation_size).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "store/copy_encoding.h"
#include "store/migrations.h"
#include "store/store_writer.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t batch_records = 50'000;
constexpr const char* database_name = "mw_store_bench";
constexpr const char* columns =
    "model, id, ts, model_version, features, prediction_label, prediction_value, score, attributes, received_at";

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double thread_cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime, in clock ticks) of
// /proc/PID/stat (proc(5)); the command name may contain spaces, so parse
// after its closing parenthesis.
struct ProcStat {
    char state = '?';
    long ppid = -1;
    long long utime = 0, stime = 0, cutime = 0, cstime = 0;
};

ProcStat read_proc_stat(long pid) {
    std::ifstream file(fmt::format("/proc/{}/stat", pid));
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    ProcStat stat;
    const auto close = text.rfind(')');
    if (close == std::string::npos) return stat;
    std::istringstream fields(text.substr(close + 2));
    std::string state;
    long long skip = 0;
    fields >> state >> stat.ppid;
    stat.state = state.empty() ? '?' : state[0];
    for (int field = 5; field < 14; ++field) fields >> skip;
    fields >> stat.utime >> stat.stime >> stat.cutime >> stat.cstime;
    return stat;
}

// CPU time of the whole PostgreSQL cluster: the postmaster, its reaped
// children (cutime/cstime) and its live children. Wall-clock time on a
// shared machine measures the neighbours too; this does not. Only valid when
// the server runs on this host.
double server_cpu_seconds(long postmaster) {
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto root = read_proc_stat(postmaster);
    long long ticks = root.utime + root.stime + root.cutime + root.cstime;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const auto child = read_proc_stat(std::stol(name));
        if (child.ppid == postmaster) ticks += child.utime + child.stime;
    }
    return static_cast<double>(ticks) / tick;
}

// Waits (up to 2 s) until the postmaster has reaped its exited children: the
// CPU of a session that just ended (psql's) is in neither its own /proc entry
// nor the postmaster's cutime while it is a zombie.
void wait_reaped(long postmaster) {
    for (int attempt = 0; attempt < 200; ++attempt) {
        bool zombies = false;
        for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
            const auto name = entry.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            const auto child = read_proc_stat(std::stol(name));
            zombies = zombies || (child.ppid == postmaster && child.state == 'Z');
        }
        if (!zombies) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

mw::ModelSchema bench_schema() {
    mw::ModelSchema schema;
    schema.name = "bench";
    for (int i = 0; i < 8; ++i) schema.features.push_back({fmt::format("num_{}", i), mw::FeatureType::numeric});
    schema.features.push_back({"plan", mw::FeatureType::categorical});
    schema.features.push_back({"country", mw::FeatureType::categorical});
    return schema;
}

std::vector<mw::PredictionBatch> generate(std::size_t records, std::int64_t now_us) {
    std::mt19937_64 random(42);  // fixed seed: every run writes the same rows
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_int_distribution<std::int64_t> age_us(0, 3 * 86'400'000'000LL);
    const char* plans[] = {"basic", "plus", "pro"};
    const char* countries[] = {"de", "fr", "us", "br", "jp"};
    std::vector<mw::PredictionBatch> batches;
    for (std::size_t start = 0; start < records; start += batch_records) {
        mw::PredictionBatch batch;
        batch.model = "bench";
        for (std::size_t i = start; i < std::min(records, start + batch_records); ++i) {
            mw::Prediction record;
            record.id = fmt::format("req-{:016x}", random());
            record.ts_us = now_us - age_us(random);
            record.model_version = "v3";
            for (int f = 0; f < 8; ++f) record.features.emplace_back(normal(random));
            record.features.emplace_back(std::string(plans[random() % 3]));
            record.features.emplace_back(std::string(countries[random() % 5]));
            record.label = random() % 2 ? "churn" : "stay";
            record.score = std::uniform_real_distribution<double>(0, 1)(random);
            record.attributes = {{"sex", random() % 2 ? "f" : "m"}, {"region", countries[random() % 5]}};
            batch.records.push_back(std::move(record));
        }
        batches.push_back(std::move(batch));
    }
    return batches;
}

double median_of(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The --profiles mode (see the header's comment). Returns main's status.
int profile_overhead(const std::string& dsn, const std::vector<mw::store::EncodedBatch>& encoded,
                     std::size_t records, int rounds) {
    pqxx::connection connection(dsn);
    mw::store::migrate(connection);
    pqxx::connection control(dsn);
    const long postmaster = read_proc_stat(connection.backendpid()).ppid;
    const auto plan_of = [](bool store_raw, std::vector<std::string> segments) {
        mw::config::ModelOptions model;
        model.schema = bench_schema();
        model.schema.attributes = {"sex", "region"};
        model.store_raw = store_raw;
        model.window.duration_ms = 3'600'000;
        model.drift.segments = std::move(segments);
        return std::make_shared<const mw::store::ProfilePlan>(mw::store::profile_plan({model}));
    };
    struct Mode {
        const char* name;
        std::shared_ptr<const mw::store::ProfilePlan> plan;
        std::vector<double> wall_s, client_cpu_s, server_cpu_s;
        double stored_bytes = 0;
        long long chunks = 0;
    };
    Mode modes[] = {{"rows stored (store_raw: true)", plan_of(true, {}), {}, {}, {}},
                    {"profile-only", plan_of(false, {}), {}, {}, {}},
                    {"profile-only, segments sex, region", plan_of(false, {"sex", "region"}), {}, {}, {}}};
    const auto empty_tables = [&] {
        pqxx::nontransaction(control).exec0("TRUNCATE predictions, prediction_boundary_keys, profile_chunks");
        pqxx::nontransaction(control).exec0("CHECKPOINT");
    };
    // An untimed write creates the partitions every round uses.
    {
        mw::store::StoreWriter writer(connection, mw::config::StoreOptions{});
        writer.write(std::span(&encoded.front(), 1));
    }
    for (int round = 0; round < rounds; ++round) {
        for (Mode& mode : modes) {
            empty_tables();
            mw::store::StoreWriter writer(connection, mw::config::StoreOptions{});
            writer.set_profile_plan(mode.plan);
            std::uint64_t inserted = 0;
            const auto start = Clock::now();
            const double client_start = thread_cpu_seconds();
            const double server_start = server_cpu_seconds(postmaster);
            for (const auto& frame : encoded) inserted += writer.write(std::span(&frame, 1)).predictions_inserted;
            mode.wall_s.push_back(seconds_since(start));
            mode.client_cpu_s.push_back(thread_cpu_seconds() - client_start);
            mode.server_cpu_s.push_back(server_cpu_seconds(postmaster) - server_start);
            pqxx::nontransaction query(control);
            const auto sizes = query.exec1(
                "SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
                "WHERE inhparent = 'predictions'::regclass) + pg_total_relation_size('profile_chunks'), "
                "(SELECT count(*) FROM profile_chunks), (SELECT coalesce(sum(rows), 0) FROM profile_chunks)");
            mode.stored_bytes = sizes[0].as<double>();
            mode.chunks = sizes[1].as<long long>();
            const auto profiled = sizes[2].as<long long>();
            const bool profiles_expected = !mode.plan->empty();
            if (inserted != records || (profiles_expected ? profiled != static_cast<long long>(records) : profiled != 0)) {
                std::fprintf(stderr, "bench invalid (%s): inserted %llu, profiled %lld of %zu\n", mode.name,
                             static_cast<unsigned long long>(inserted), profiled, records);
                return 1;
            }
        }
    }
    double load[1] = {0};
    ::getloadavg(load, 1);
    const double n = static_cast<double>(records);
    std::printf("%zu predictions, 10 features, %zu-record writes, %d rounds of each mode in turn, medians; "
                "load average %.1f at the end\n",
                records, batch_records, rounds, load[0]);
    std::printf("%-36s %8s %10s %12s %12s %12s %8s\n", "", "wall s", "rows/s", "client CPU s", "server CPU s",
                "stored B/row", "chunks");
    for (const Mode& mode : modes) {
        const double wall = median_of(mode.wall_s);
        std::printf("%-36s %8.2f %10.0f %12.2f %12.2f %12.0f %8lld\n", mode.name, wall, n / wall,
                    median_of(mode.client_cpu_s), median_of(mode.server_cpu_s), mode.stored_bytes / n, mode.chunks);
    }
    for (const Mode& mode : modes) {
        std::printf("%s, per round (wall / client CPU / server CPU s):", mode.name);
        for (std::size_t r = 0; r < mode.wall_s.size(); ++r)
            std::printf(" %.2f/%.2f/%.2f", mode.wall_s[r], mode.client_cpu_s[r], mode.server_cpu_s[r]);
        std::printf("\n");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const bool midnight = argc == 5 && std::string(argv[3]) == "--midnight";
    const bool profiles_mode = argc == 5 && std::string(argv[3]) == "--profiles";
    if (argc < 2 || argc == 4 || argc > 5 || (argc == 5 && !midnight && !profiles_mode)) {
        std::fprintf(stderr, "usage: store_writer_bench ADMIN_DSN [RECORDS] [--midnight SECONDS]\n"
                             "       store_writer_bench ADMIN_DSN RECORDS --profiles ROUNDS\n");
        return 2;
    }
    const std::string admin_dsn = argv[1];
    const std::size_t records = argc > 2 ? std::stoul(argv[2]) : 1'000'000;
    const std::string dsn = admin_dsn + " dbname=" + database_name;
    const auto now_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    constexpr std::int64_t day_us = 86'400'000'000LL;
    const std::int64_t midnight_offset_us = midnight ? std::stoll(argv[4]) * 1'000'000LL : 0;
    const std::int64_t last_midnight_us = now_us / day_us * day_us;
    // Batch i's received_at.
    auto received_us = [&](std::size_t batch) {
        if (!midnight) return now_us;
        return batch % 2 == 0 ? last_midnight_us - midnight_offset_us : last_midnight_us + midnight_offset_us;
    };

    {
        pqxx::connection admin(admin_dsn);
        pqxx::nontransaction command(admin);
        command.exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", database_name));
        command.exec0(fmt::format("CREATE DATABASE {}", database_name));
    }

    const auto schema = bench_schema();
    const auto batches = generate(records, now_us);
    std::vector<mw::store::EncodedBatch> encoded;
    auto start = Clock::now();
    const double encode_cpu_start = thread_cpu_seconds();
    for (const auto& batch : batches) {
        mw::store::EncodedBatch frame{mw::RecordKind::prediction, static_cast<std::uint32_t>(batch.records.size()), {}};
        mw::store::append_prediction_rows(batch, schema, received_us(encoded.size()), frame.copy_rows);
        encoded.push_back(std::move(frame));
    }
    const double encode_s = seconds_since(start);
    const double encode_cpu_s = thread_cpu_seconds() - encode_cpu_start;
    std::size_t bytes = 0;
    for (const auto& frame : encoded) bytes += frame.copy_rows.size();
    if (profiles_mode) {
        const int status = profile_overhead(dsn, encoded, records, std::stoi(argv[4]));
        pqxx::connection admin(admin_dsn);
        pqxx::nontransaction(admin).exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", database_name));
        return status;
    }

    pqxx::connection connection(dsn);
    mw::store::migrate(connection);
    mw::store::StoreWriter writer(connection, mw::config::StoreOptions{});
    pqxx::connection control(dsn);
    auto checkpoint = [&] { pqxx::nontransaction(control).exec0("CHECKPOINT"); };
    // WAL written, another measure the neighbours do not distort.
    auto wal_lsn = [&] { return pqxx::nontransaction(control).exec1("SELECT pg_current_wal_lsn()::text")[0].as<std::string>(); };
    auto wal_bytes_since = [&](const std::string& lsn) {
        return pqxx::nontransaction(control)
            .exec_params1("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", lsn)[0]
            .as<double>();
    };
    const long postmaster = read_proc_stat(connection.backendpid()).ppid;

    // Untimed writes create the partitions every phase uses (with
    // --midnight, the first two batches' days); then autovacuum is switched
    // off on the tables written, since a worker started by one phase would
    // run, and count as server CPU, in the next.
    writer.write(std::span(encoded.data(), std::min<std::size_t>(encoded.size(), 2)));
    {
        pqxx::nontransaction command(control);
        const auto tables = command.exec(
            "SELECT inhrelid::regclass::text FROM pg_inherits "
            "WHERE inhparent IN ('predictions'::regclass, 'prediction_boundary_keys'::regclass)");
        for (const auto& table : tables)
            command.exec0(fmt::format("ALTER TABLE {} SET (autovacuum_enabled = off)", table[0].c_str()));
        command.exec0("TRUNCATE predictions, prediction_boundary_keys");
    }

    checkpoint();
    std::uint64_t inserted = 0;
    start = Clock::now();
    double cpu_start = server_cpu_seconds(postmaster);
    auto wal_start = wal_lsn();
    for (const auto& frame : encoded) inserted += writer.write(std::span(&frame, 1)).predictions_inserted;
    const double writer_s = seconds_since(start);
    const double writer_cpu_s = server_cpu_seconds(postmaster) - cpu_start;
    const double writer_wal = wal_bytes_since(wal_start);
    const auto claims =
        pqxx::nontransaction(control).exec1("SELECT count(*) FROM prediction_boundary_keys")[0].as<long long>();

    checkpoint();
    std::uint64_t replay_inserted = 0;
    start = Clock::now();
    cpu_start = server_cpu_seconds(postmaster);
    wal_start = wal_lsn();
    for (const auto& frame : encoded) replay_inserted += writer.write(std::span(&frame, 1)).predictions_inserted;
    const double replay_s = seconds_since(start);
    const double replay_cpu_s = server_cpu_seconds(postmaster) - cpu_start;
    const double replay_wal = wal_bytes_since(wal_start);

    // The same rows, emptied table (its partitions stay), through psql \copy.
    const std::string rows_path = fmt::format("/tmp/mw_store_bench_{}.copy", ::getpid());
    {
        std::ofstream rows(rows_path, std::ios::binary);
        for (const auto& frame : encoded) rows << frame.copy_rows;
    }
    pqxx::nontransaction(control).exec0("TRUNCATE predictions, prediction_boundary_keys");
    checkpoint();
    const std::string psql = fmt::format("psql -q -X -v ON_ERROR_STOP=1 \"{}\" -c \"\\copy predictions ({}) FROM '{}'\"",
                                         dsn, columns, rows_path);
    start = Clock::now();
    cpu_start = server_cpu_seconds(postmaster);
    wal_start = wal_lsn();
    const int psql_status = std::system(psql.c_str());
    const double copy_s = seconds_since(start);
    wait_reaped(postmaster);
    const double copy_cpu_s = server_cpu_seconds(postmaster) - cpu_start;
    const double copy_wal = wal_bytes_since(wal_start);
    std::remove(rows_path.c_str());
    const auto copied = pqxx::nontransaction(control).exec1("SELECT count(*) FROM predictions")[0].as<long long>();
    if (psql_status != 0 || static_cast<std::size_t>(copied) != records || inserted != records || replay_inserted != 0) {
        std::fprintf(stderr, "bench invalid: psql status %d, copied %lld, inserted %llu, replay inserted %llu\n",
                     psql_status, copied, static_cast<unsigned long long>(inserted),
                     static_cast<unsigned long long>(replay_inserted));
        return 1;
    }

    const double n = static_cast<double>(records);
    double load[1] = {0};
    ::getloadavg(load, 1);
    const std::string received =
        midnight ? fmt::format("{} s each side of the last UTC midnight", midnight_offset_us / 1'000'000) : "now";
    std::printf("%zu predictions, 10 features, %zu-record writes, %.0f bytes/row of COPY text, load average %.1f, "
                "received %s\n",
                records, batch_records, static_cast<double>(bytes) / n, load[0], received.c_str());
    std::printf("%-34s %9s %12s %14s %14s %12s\n", "", "wall s", "rows/s", "CPU s", "rows/CPU s", "WAL B/row");
    auto line = [&](const char* what, double wall_s, double cpu_s, const char* cpu_of, double wal) {
        std::printf("%-34s %9.2f %12.0f %10.2f %-3s %14.0f %12.0f\n", what, wall_s, n / wall_s, cpu_s, cpu_of,
                    n / cpu_s, wal / n);
    };
    line("encode (append_prediction_rows)", encode_s, encode_cpu_s, "cli", 0);
    line("StoreWriter::write (new rows)", writer_s, writer_cpu_s, "srv", writer_wal);
    std::printf("    (%lld of its rows claimed their key on a boundary)\n", claims);
    line("StoreWriter::write (replay, dups)", replay_s, replay_cpu_s, "srv", replay_wal);
    line("psql \\copy into predictions", copy_s, copy_cpu_s, "srv", copy_wal);
    std::printf("writer / \\copy: %.2f by wall clock, %.2f by server CPU (target >= 0.8)\n", copy_s / writer_s,
                copy_cpu_s / writer_cpu_s);

    pqxx::connection admin(admin_dsn);
    pqxx::nontransaction(admin).exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", database_name));
    return 0;
}
