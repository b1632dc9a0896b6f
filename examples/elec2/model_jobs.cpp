#include "examples/elec2/model_jobs.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/durable_file.h"

namespace mw::elec2 {
namespace {

std::string variable(const EnvironmentLookup& lookup, const char* name) {
    const char* value = lookup(name);
    return value == nullptr ? std::string() : std::string(value);
}

// Keeps the model now at `model_file` as <archive_dir>/<version>.json, so a
// rollback can bring it back. A missing model file is not an error: the first
// promotion has nothing to keep.
std::string archive_current(const std::string& model_file, const std::string& archive_dir) {
    struct stat info {};
    if (::stat(model_file.c_str(), &info) != 0) {
        if (errno == ENOENT) return {};
        return fmt::format("{}: {}", model_file, std::strerror(errno));
    }
    auto current = load_model(model_file);
    if (!current.ok()) return fmt::format("cannot archive the current model: {}", current.error);
    if (!is_archivable_version(current.value.version))
        return fmt::format("cannot archive the current model: version '{}' cannot name a file",
                           current.value.version);
    std::error_code ec;
    std::filesystem::create_directories(archive_dir, ec);
    if (ec) return fmt::format("{}: {}", archive_dir, ec.message());
    return save_model(current.value, archive_dir + "/" + current.value.version + ".json");
}

}  // namespace

Result<JobEnvironment> read_job_environment(const EnvironmentLookup& lookup) {
    JobEnvironment environment;
    environment.job_id = variable(lookup, "MODELWATCH_JOB_ID");
    environment.model = variable(lookup, "MODELWATCH_MODEL");
    environment.champion_version = variable(lookup, "MODELWATCH_CHAMPION_VERSION");
    environment.trigger = variable(lookup, "MODELWATCH_TRIGGER");
    environment.reason = variable(lookup, "MODELWATCH_REASON");
    environment.job_dir = variable(lookup, "MODELWATCH_JOB_DIR");
    environment.data_path = variable(lookup, "MODELWATCH_DATA");
    environment.report_path = variable(lookup, "MODELWATCH_REPORT");
    for (const auto& [name, value] : {std::pair{"MODELWATCH_JOB_ID", &environment.job_id},
                                      std::pair{"MODELWATCH_JOB_DIR", &environment.job_dir},
                                      std::pair{"MODELWATCH_DATA", &environment.data_path},
                                      std::pair{"MODELWATCH_REPORT", &environment.report_path}}) {
        if (value->empty())
            return Result<JobEnvironment>::failure(
                fmt::format("{} is not set: elec2_trainer train runs as a modelwatch retraining job", name));
    }
    if (!is_archivable_version(environment.job_id))
        return Result<JobEnvironment>::failure(
            fmt::format("MODELWATCH_JOB_ID '{}' has characters a model version cannot carry", environment.job_id));
    return {std::move(environment), {}};
}

Result<Challenger> train_challenger(const std::vector<LabelledRow>& recent, double holdout_share,
                                    const LogisticModel& champion) {
    using Out = Result<Challenger>;
    if (!(holdout_share > 0 && holdout_share < 1))
        return Out::failure(fmt::format("the holdout share {} is not between 0 and 1", holdout_share));
    const auto holdout_rows =
        static_cast<std::size_t>(std::ceil(static_cast<double>(recent.size()) * holdout_share));
    if (holdout_rows == 0 || holdout_rows >= recent.size())
        return Out::failure(fmt::format("{} labelled rows cannot be split into a training part and a holdout of {}",
                                        recent.size(), holdout_share));
    const std::vector<LabelledRow> training(recent.begin(), recent.end() - static_cast<std::ptrdiff_t>(holdout_rows));
    const std::vector<LabelledRow> holdout(recent.end() - static_cast<std::ptrdiff_t>(holdout_rows), recent.end());
    std::size_t up = 0;
    for (const auto& row : training) up += row.up ? 1 : 0;
    if (up == 0 || up == training.size())
        return Out::failure(fmt::format("the {} training rows are all {}", training.size(), up == 0 ? "DOWN" : "UP"));

    Challenger challenger;
    challenger.training_rows = training.size();
    challenger.holdout_rows = holdout.size();
    challenger.metrics = evaluate(fit_logistic_model(training), holdout);
    challenger.champion_metrics = evaluate(champion, holdout);
    challenger.model = fit_logistic_model(recent);
    return {std::move(challenger), {}};
}

Result<nlohmann::json> run_train_job(const TrainJobOptions& options, const JobEnvironment& environment,
                                     std::int64_t unix_time_seconds) {
    using Out = Result<nlohmann::json>;
    if (options.recent_rows == 0) return Out::failure("--recent-rows must be positive");
    auto champion = load_model(options.champion_path);
    if (!champion.ok()) return Out::failure(fmt::format("the champion: {}", champion.error));

    std::size_t skipped_unlabelled = 0;
    auto rows = load_job_data(environment.data_path, skipped_unlabelled);
    if (!rows.ok()) return Out::failure(rows.error);
    std::vector<LabelledRow>& all = rows.value;
    const std::size_t n = std::min(options.recent_rows, all.size());
    const std::vector<LabelledRow> recent(all.end() - static_cast<std::ptrdiff_t>(n), all.end());

    auto challenger = train_challenger(recent, options.holdout_share, champion.value);
    if (!challenger.ok()) return Out::failure(fmt::format("{}: {}", environment.data_path, challenger.error));

    LogisticModel& model = challenger.value.model;
    model.version = fmt::format("v{}-{}", unix_time_seconds, environment.job_id);
    model.trained_on = {{"job_id", environment.job_id},
                        {"model", environment.model},
                        {"trigger", environment.trigger},
                        {"reason", environment.reason},
                        {"champion_version", champion.value.version},
                        {"rows", recent.size()},
                        {"first_id", recent.front().id},
                        {"last_id", recent.back().id},
                        {"holdout_rows", challenger.value.holdout_rows},
                        {"refit", "on all rows after the holdout comparison"}};

    const std::string artifact =
        std::filesystem::absolute(std::filesystem::path(environment.job_dir) / "model.json").lexically_normal();
    if (auto error = save_model(model, artifact); !error.empty()) return Out::failure(error);

    nlohmann::json report = {{"version", 1},
                             {"challenger_version", model.version},
                             {"artifact", artifact},
                             {"metrics", to_json(challenger.value.metrics)},
                             {"champion_metrics", to_json(challenger.value.champion_metrics)},
                             {"training_rows", challenger.value.training_rows},
                             {"rows_available", all.size()},
                             {"rows_without_label", skipped_unlabelled}};
    if (auto error = write_file_durably(environment.report_path, report.dump(2) + "\n"); !error.empty())
        return Out::failure(error);
    return {std::move(report), {}};
}

bool is_archivable_version(const std::string& version) {
    if (version.empty() || version.front() == '.') return false;
    for (const char c : version) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                             c == '.' || c == '_' || c == '-';
        if (!allowed) return false;
    }
    return true;
}

std::string promote_model(const std::string& artifact_path, const std::string& model_file,
                          const std::optional<std::string>& archive_dir) {
    auto artifact = load_model(artifact_path);
    if (!artifact.ok()) return fmt::format("the artifact is not a usable model: {}", artifact.error);
    if (archive_dir) {
        if (auto error = archive_current(model_file, *archive_dir); !error.empty()) return error;
    }
    return save_model(artifact.value, model_file);
}

std::string rollback_model(const std::string& model_file, const std::string& archive_dir, const std::string& version) {
    if (!is_archivable_version(version))
        return fmt::format("version '{}' cannot name a file in the archive", version);
    const std::string archived = archive_dir + "/" + version + ".json";
    auto previous = load_model(archived);
    if (!previous.ok()) return fmt::format("cannot roll back to '{}': {}", version, previous.error);
    if (previous.value.version != version)
        return fmt::format("{} holds version '{}', not '{}'", archived, previous.value.version, version);
    if (auto error = archive_current(model_file, archive_dir); !error.empty()) return error;
    return save_model(previous.value, model_file);
}

}  // namespace mw::elec2
