#include "examples/elec2/stream_server.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/durable_file.h"
#include "examples/elec2/daemon_client.h"
#include "examples/elec2/elec2_data.h"
#include "examples/elec2/lockstep.h"
#include "examples/elec2/logistic_model.h"
#include "examples/elec2/model_jobs.h"

namespace mw::elec2 {
namespace {

// What identifies one version of the model file: a promotion renames a new
// file over it, which changes the inode (and usually size and mtime).
struct FileStamp {
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t mtime_ns = -1;
    bool operator==(const FileStamp&) const = default;
};

std::optional<FileStamp> stamp_of(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return std::nullopt;
    return FileStamp{info.st_ino, info.st_size,
                     static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
}

// Follows --model-file: reloads it when its stamp changes and reports a new
// model when the version differs. A file that fails to load is reported once
// and the current model stays in service.
class ModelFileWatcher {
public:
    explicit ModelFileWatcher(std::string path) : path_(std::move(path)) {}

    Result<LogisticModel> load_initial() {
        stamp_ = stamp_of(path_);
        return load_model(path_);
    }

    std::optional<LogisticModel> changed_model(const std::string& current_version) {
        const auto stamp = stamp_of(path_);
        if (!stamp || stamp == stamp_) return std::nullopt;
        stamp_ = stamp;
        auto model = load_model(path_);
        if (!model.ok()) {
            fmt::print(stderr, "elec2_server: keeping model {}: {}\n", current_version, model.error);
            return std::nullopt;
        }
        if (model.value.version == current_version) return std::nullopt;
        return std::move(model.value);
    }

private:
    std::string path_;
    std::optional<FileStamp> stamp_;
};

nlohmann::json prediction_record(std::size_t index, const LabelledRow& row, const std::string& version, double p_up) {
    nlohmann::json features = nlohmann::json::object();
    for (std::size_t j = 0; j < feature_count; ++j) features[std::string(feature_names[j])] = row.features[j];
    return {{"id", row_id(index)},
            {"model_version", version},
            {"features", std::move(features)},
            {"prediction", p_up >= 0.5 ? "UP" : "DOWN"},
            {"score", p_up}};
}

std::string check_options(const ServerOptions& options) {
    if (options.initial_rows < 10) return "--initial-rows must be at least 10";
    if (options.batch_rows == 0) return "--batch must be positive";
    if (!(options.rows_per_second >= 0)) return "--rows-per-second must not be negative";
    if (!options.dry_run && options.model_file.empty()) return "--model-file is required (unless --dry-run)";
    if (!(options.lockstep_timeout_seconds > 0 && options.lockstep_timeout_seconds <= 86400))
        return "--lockstep-timeout must be more than 0 and at most 86400 seconds";
    if (options.lockstep_rows % options.batch_rows != 0) return "--lockstep-rows must be a multiple of --batch";
    if (options.dry_run && !(options.holdout_share > 0 && options.holdout_share < 1))
        return "--holdout-share must be between 0 and 1";
    return {};
}

}  // namespace

std::string row_id(std::size_t row_index) { return fmt::format("r{:07}", row_index); }

Result<StreamSummary> run_stream(const ServerOptions& options) {
    using Out = Result<StreamSummary>;
    if (auto error = check_options(options); !error.empty()) return Out::failure(error);

    // 1. The data, in stream order.
    auto loaded = load_elec2_stream(options.data_path);
    if (!loaded.ok()) return Out::failure(loaded.error);
    const std::vector<LabelledRow>& rows = loaded.value;
    const std::size_t end = options.limit_rows == 0 ? rows.size() : std::min(options.limit_rows, rows.size());
    if (end <= options.initial_rows)
        return Out::failure(fmt::format("{} rows leave nothing to stream after --initial-rows {}", end,
                                        options.initial_rows));

    // 2. The initial model, which also serves as the never-retrained baseline.
    LogisticModel initial =
        fit_logistic_model({rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(options.initial_rows)});
    initial.version = "v0-initial";
    initial.trained_on = {{"data", options.data_path}, {"rows", options.initial_rows}, {"first_row", 0}};

    // 3. The served model: the model file (created from the initial model when
    //    absent), or in a dry run the initial model itself.
    std::optional<ModelFileWatcher> watcher;
    std::optional<DaemonClient> client;
    LogisticModel served = initial;
    if (!options.dry_run) {
        if (!stamp_of(options.model_file)) {
            if (errno != ENOENT) return Out::failure(fmt::format("{}: {}", options.model_file, std::strerror(errno)));
            if (auto error = save_model(initial, options.model_file); !error.empty()) return Out::failure(error);
        }
        watcher.emplace(options.model_file);
        auto current = watcher->load_initial();
        if (!current.ok()) return Out::failure(current.error);
        served = std::move(current.value);

        DaemonClientOptions client_options;
        client_options.base_url = options.daemon_url;
        client_options.token = options.token;
        auto created = DaemonClient::create(client_options);
        if (!created.ok()) return Out::failure(created.error);
        client.emplace(std::move(created.value));
    }
    const std::string predictions_path = fmt::format("/v1/models/{}/predictions", options.model);
    const std::string outcomes_path = fmt::format("/v1/models/{}/outcomes", options.model);

    StreamSummary summary;
    summary.first_row = options.initial_rows;
    summary.model_versions.push_back({served.version, options.initial_rows});
    std::size_t served_correct = 0, static_correct = 0, persistence_correct = 0;
    std::size_t scored_served_correct = 0, scored_static_correct = 0;
    std::size_t outcomes_sent_to = options.initial_rows;  // outcomes of rows before this index are posted
    std::size_t rows_since_retrain = 0;

    auto post_outcomes_until = [&](std::size_t until) -> std::string {
        if (until <= outcomes_sent_to) return {};
        nlohmann::json outcomes = nlohmann::json::array();
        for (std::size_t i = outcomes_sent_to; i < until; ++i)
            outcomes.push_back({{"id", row_id(i)}, {"label", rows[i].up ? "UP" : "DOWN"}});
        auto posted = client->post(outcomes_path, outcomes.dump());
        if (!posted.ok()) return posted.error;
        if (posted.value.rejected > 0)
            fmt::print(stderr, "elec2_server: the daemon rejected {} outcomes; first: {}\n", posted.value.rejected,
                       posted.value.first_rejection);
        summary.outcomes_accepted += posted.value.accepted;
        outcomes_sent_to = until;
        return {};
    };

    // Lockstep: the daemon's own account of what it has judged (lockstep.h).
    const std::string progress_path = fmt::format("/v1/models/{}/progress", options.model);
    LockstepOptions lockstep;
    lockstep.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.lockstep_timeout_seconds * 1000));
    auto wait_for_daemon = [&](std::size_t row) -> std::string {
        if (!client || !options.lockstep) return {};
        LockstepHooks hooks;
        hooks.fetch = [&]() -> ProgressReading {
            auto answer = client->get(progress_path);
            if (!answer.body.ok()) return {Result<DaemonProgress>::failure(answer.body.error), answer.refused};
            return {parse_progress(answer.body.value)};
        };
        hooks.sleep = [](std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); };
        const auto waited = wait_until_settled(hooks, lockstep);
        if (!waited.ok()) return fmt::format("rows up to {}: {}", row_id(row - 1), waited.error);
        if (waited.value.restarts > 0)
            fmt::print(stderr, "elec2_server: rows up to {}: modelwatchd restarted during the wait; waited for the "
                               "new process to judge them\n",
                       row_id(row - 1));
        ++summary.lockstep_waits;
        summary.lockstep_seconds += std::chrono::duration<double>(waited.value.waited).count();
        return {};
    };

    const auto started = std::chrono::steady_clock::now();
    for (std::size_t start = options.initial_rows; start < end; start += options.batch_rows) {
        const std::size_t stop = std::min(start + options.batch_rows, end);

        // 4. Swap the model between batches: a promotion (live) or an in-process retraining (dry run).
        if (watcher) {
            if (auto promoted = watcher->changed_model(served.version)) {
                fmt::print(stderr, "elec2_server: row {}: model {} replaces {}\n", start, promoted->version,
                           served.version);
                served = std::move(*promoted);
                summary.model_versions.push_back({served.version, start});
            }
        } else if (options.retrain_every_rows > 0 && rows_since_retrain >= options.retrain_every_rows) {
            // Only rows whose outcome has arrived can be trained on.
            const std::size_t labelled_end = start > options.label_delay_rows ? start - options.label_delay_rows : 0;
            const std::size_t labelled_begin =
                labelled_end > options.recent_rows ? labelled_end - options.recent_rows : 0;
            const std::vector<LabelledRow> recent(rows.begin() + static_cast<std::ptrdiff_t>(labelled_begin),
                                                  rows.begin() + static_cast<std::ptrdiff_t>(labelled_end));
            auto challenger = train_challenger(recent, options.holdout_share, served);
            if (challenger.ok()) {
                served = std::move(challenger.value.model);
                served.version = fmt::format("dry-{}", start);
                summary.model_versions.push_back({served.version, start});
            } else {
                fmt::print(stderr, "elec2_server: row {}: no retraining: {}\n", start, challenger.error);
            }
            rows_since_retrain = 0;
        }

        // 5. Predict, score, post.
        nlohmann::json predictions = nlohmann::json::array();
        for (std::size_t i = start; i < stop; ++i) {
            const LabelledRow& row = rows[i];
            const double p_up = predict_up_probability(served, row.features);
            const bool served_right = (p_up >= 0.5) == row.up;
            const bool static_right = (predict_up_probability(initial, row.features) >= 0.5) == row.up;
            served_correct += served_right ? 1 : 0;
            static_correct += static_right ? 1 : 0;
            if (options.score_from_row > 0 && i >= options.score_from_row) {
                ++summary.scored_rows;
                scored_served_correct += served_right ? 1 : 0;
                scored_static_correct += static_right ? 1 : 0;
            }
            persistence_correct += rows[i - 1].up == row.up ? 1 : 0;
            if (client) predictions.push_back(prediction_record(i, row, served.version, p_up));
        }
        rows_since_retrain += stop - start;
        summary.rows += stop - start;
        if (client) {
            auto posted = client->post(predictions_path, predictions.dump());
            if (!posted.ok()) return Out::failure(posted.error);
            if (posted.value.rejected > 0)
                fmt::print(stderr, "elec2_server: the daemon rejected {} predictions; first: {}\n",
                           posted.value.rejected, posted.value.first_rejection);
            summary.predictions_accepted += posted.value.accepted;
            if (stop > options.initial_rows + options.label_delay_rows) {
                if (auto error = post_outcomes_until(stop - options.label_delay_rows); !error.empty())
                    return Out::failure(error);
            }
            const bool boundary = options.lockstep_rows == 0 || (stop - options.initial_rows) % options.lockstep_rows == 0;
            if (boundary) {
                if (auto error = wait_for_daemon(stop); !error.empty()) return Out::failure(error);
            }
            if (options.rows_per_second > 0) {
                const auto due = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                               std::chrono::duration<double>(
                                                   static_cast<double>(summary.rows) / options.rows_per_second));
                std::this_thread::sleep_until(due);
            }
        }
        if (summary.rows / 5000 != (summary.rows - (stop - start)) / 5000)
            fmt::print(stderr, "elec2_server: {} rows streamed, served accuracy so far {:.4f}\n", summary.rows,
                       static_cast<double>(served_correct) / static_cast<double>(summary.rows));
    }
    // 6. The outcomes still held back arrive at the end of the stream.
    if (client) {
        if (auto error = post_outcomes_until(end); !error.empty()) return Out::failure(error);
        if (auto error = wait_for_daemon(end); !error.empty()) return Out::failure(error);
    }
    summary.stream_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const double n = static_cast<double>(summary.rows);
    summary.served_accuracy = static_cast<double>(served_correct) / n;
    summary.static_accuracy = static_cast<double>(static_correct) / n;
    summary.persistence_accuracy = static_cast<double>(persistence_correct) / n;
    if (summary.scored_rows > 0) {
        const double scored = static_cast<double>(summary.scored_rows);
        summary.scored_served_accuracy = static_cast<double>(scored_served_correct) / scored;
        summary.scored_static_accuracy = static_cast<double>(scored_static_correct) / scored;
    }
    if (!options.summary_path.empty()) {
        if (auto error = write_file_durably(options.summary_path, to_json(summary, options).dump(2) + "\n");
            !error.empty())
            return Out::failure(error);
    }
    return {std::move(summary), {}};
}

nlohmann::json to_json(const StreamSummary& summary, const ServerOptions& options) {
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& takeover : summary.model_versions)
        versions.push_back({{"version", takeover.version}, {"from_row", takeover.from_row}});
    return {{"rows", summary.rows},
            {"first_row", summary.first_row},
            {"served_accuracy", summary.served_accuracy},
            {"static_accuracy", summary.static_accuracy},
            {"persistence_accuracy", summary.persistence_accuracy},
            {"model_versions", std::move(versions)},
            {"predictions_accepted", summary.predictions_accepted},
            {"outcomes_accepted", summary.outcomes_accepted},
            {"dry_run", options.dry_run},
            {"label_delay_rows", options.label_delay_rows},
            {"retrain_every_rows", options.retrain_every_rows},
            {"score_from_row", options.score_from_row},
            {"scored_rows", summary.scored_rows},
            {"scored_served_accuracy", summary.scored_served_accuracy},
            {"scored_static_accuracy", summary.scored_static_accuracy},
            {"lockstep", !options.dry_run && options.lockstep},
            {"stream_seconds", summary.stream_seconds},
            {"lockstep_waits", summary.lockstep_waits},
            {"lockstep_seconds", summary.lockstep_seconds}};
}

std::string format_summary(const StreamSummary& summary) {
    std::string text = fmt::format(
        "rows streamed                        {:>8}  (rows {} to {})\n"
        "served predictions, accuracy         {:>8.4f}  ({} model versions)\n"
        "initial model never retrained        {:>8.4f}\n"
        "same class as the previous row       {:>8.4f}\n",
        summary.rows, summary.first_row, summary.first_row + summary.rows - 1, summary.served_accuracy,
        summary.model_versions.size(), summary.static_accuracy, summary.persistence_accuracy);
    if (summary.lockstep_waits > 0)
        text += fmt::format("streamed in {:.1f} s, of which {:.1f} s waiting for the daemon ({} waits)\n",
                            summary.stream_seconds, summary.lockstep_seconds, summary.lockstep_waits);
    text += "model versions:\n";
    for (const auto& takeover : summary.model_versions)
        text += fmt::format("  from row {:>6}  {}\n", takeover.from_row, takeover.version);
    return text;
}

}  // namespace mw::elec2
