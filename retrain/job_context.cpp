#include "retrain/job_context.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/time.h"

namespace mw::retrain {

namespace {

using nlohmann::json;

// timestamptz as RFC 3339 in UTC with microseconds, formatted by PostgreSQL
// so that no precision is lost on the way.
std::string rfc3339_sql(std::string_view column) {
    return fmt::format(R"(to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))", column);
}

// The most recent `limit` labelled predictions since $2, returned oldest
// first: the inner query picks them newest first so that LIMIT keeps the
// recent end, the outer one restores (ts, id) order. Features come back as an
// object of text values made by jsonb_each_text, so numbers keep PostgreSQL's
// own text (a JSON library would reformat 1e-7 or a 30-digit numeric),
// strings arrive unescaped, and null stays null.
std::string export_query() {
    return fmt::format(
        "SELECT id, {}, coalesce(model_version, ''), "
        "CASE WHEN jsonb_typeof(features) = 'object' THEN "
        "  (SELECT coalesce(jsonb_object_agg(key, value), '{{}}') FROM jsonb_each_text(features))::text END, "
        "coalesce(prediction_label, prediction_value::text), score::text, coalesce(label, value::text) "
        "FROM (SELECT * FROM labelled_predictions WHERE model = $1 AND ts >= $2::timestamptz "
        "      ORDER BY ts DESC, id DESC LIMIT $3) AS recent "
        "ORDER BY ts, id",
        rfc3339_sql("ts"));
}

std::string feature_text(const json& value) { return value.is_string() ? value.get<std::string>() : ""; }

bool make_private_directory(const std::filesystem::path& path, std::string& error) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        error = fmt::format("create {}: {}", path.string(), std::strerror(errno));
        return false;
    }
    // mkdir's mode is masked by the umask, and an existing directory keeps
    // whatever mode it had: set it explicitly.
    if (::chmod(path.c_str(), 0700) != 0) {
        error = fmt::format("chmod 0700 {}: {}", path.string(), std::strerror(errno));
        return false;
    }
    return true;
}

bool write_file(const std::filesystem::path& path, std::string_view content, std::string& error) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(content.data(), static_cast<std::streamsize>(content.size()));
    file.close();
    if (!file) {
        error = fmt::format("write {}: failed", path.string());
        return false;
    }
    return true;
}

struct ExportedRow {
    std::string id;
    std::string ts;
    std::string model_version;
    json features;
    std::string prediction;
    std::string score;
    std::string label;
};

}  // namespace

std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

std::optional<FindingSummary> load_finding(pqxx::connection_base& connection, std::int64_t finding_id) {
    pqxx::read_transaction transaction(connection);
    pqxx::result rows = transaction.exec_params(
        fmt::format("SELECT kind, subject, method, statistic, threshold, p_value, {}, {} FROM findings WHERE id = $1",
                    rfc3339_sql("window_start"), rfc3339_sql("window_end")),
        finding_id);
    if (rows.empty()) return std::nullopt;
    const pqxx::row row = rows[0];
    FindingSummary finding;
    finding.kind = row[0].as<std::string>();
    finding.subject = row[1].as<std::string>();
    finding.method = row[2].as<std::string>();
    finding.statistic = row[3].as<double>();
    finding.threshold = row[4].as<double>();
    if (!row[5].is_null()) finding.p_value = row[5].as<double>();
    finding.window_start = row[6].as<std::string>();
    finding.window_end = row[7].as<std::string>();
    return finding;
}

std::string context_json(const Job& job, const std::optional<FindingSummary>& finding, const DataExport* data) {
    json context = {
        {"version", 1},
        {"job_id", job.id},
        {"model", job.model},
        {"champion_version", job.champion_version ? json(*job.champion_version) : json(nullptr)},
        {"trigger", job.trigger},
        {"reason", job.reason},
        {"finding", nullptr},
        {"data", nullptr},
    };
    if (finding) {
        context["finding"] = {
            {"kind", finding->kind},
            {"subject", finding->subject},
            {"method", finding->method},
            {"statistic", finding->statistic},
            {"threshold", finding->threshold},
            {"p_value", finding->p_value ? json(*finding->p_value) : json(nullptr)},
            {"window_start", finding->window_start},
            {"window_end", finding->window_end},
        };
    }
    if (data) {
        context["data"] = {
            {"path", data->path.string()},
            {"format", "csv"},
            {"rows", data->rows},
            {"start", data->start ? json(*data->start) : json(nullptr)},
            {"end", data->end ? json(*data->end) : json(nullptr)},
            {"columns", data->columns},
        };
    }
    return context.dump(2) + "\n";
}

JobContextResult prepare_job_context(pqxx::connection_base& connection, const Job& job,
                                     const JobContextOptions& options, std::int64_t now_us) {
    JobContextResult result;
    JobContext context;
    std::error_code ignored;
    std::filesystem::create_directories(options.jobs_dir, ignored);
    if (!make_private_directory(options.jobs_dir, result.error)) return result;
    context.job_dir = options.jobs_dir / std::to_string(job.id);
    // A directory left by an earlier attempt of this job (the daemon stopped
    // mid-run) holds a stale report that must not be mistaken for this run's.
    std::filesystem::remove_all(context.job_dir, ignored);
    if (!make_private_directory(context.job_dir, result.error)) return result;
    context.context_path = context.job_dir / "context.json";
    context.data_path = context.job_dir / "data.csv";
    context.report_path = context.job_dir / "report.json";

    if (job.finding_id) context.finding = load_finding(connection, *job.finding_id);

    const std::string since = options.data_window_seconds > 0
                                  ? format_rfc3339_us(now_us - options.data_window_seconds * 1'000'000)
                                  : std::string("-infinity");
    std::vector<ExportedRow> rows;
    {
        pqxx::read_transaction transaction(connection);
        pqxx::result result_rows = transaction.exec_params(export_query(), job.model, since,
                                                           static_cast<std::int64_t>(options.data_rows));
        rows.reserve(result_rows.size());
        for (const pqxx::row& row : result_rows) {
            ExportedRow exported;
            exported.id = row[0].as<std::string>();
            exported.ts = row[1].as<std::string>();
            exported.model_version = row[2].as<std::string>();
            if (!row[3].is_null()) exported.features = json::parse(row[3].c_str());
            if (!row[4].is_null()) exported.prediction = row[4].as<std::string>();
            if (!row[5].is_null()) exported.score = row[5].as<std::string>();
            if (!row[6].is_null()) exported.label = row[6].as<std::string>();
            rows.push_back(std::move(exported));
        }
    }

    std::vector<std::string> features = options.feature_columns;
    if (features.empty()) {
        std::set<std::string> names;
        for (const ExportedRow& row : rows) {
            if (!row.features.is_object()) continue;
            for (const auto& item : row.features.items()) names.insert(item.key());
        }
        features.assign(names.begin(), names.end());
    }
    DataExport& data = context.data;
    data.path = context.data_path;
    data.rows = rows.size();
    if (!rows.empty()) {
        data.start = rows.front().ts;
        data.end = rows.back().ts;
    }
    data.columns = {"id", "ts", "model_version"};
    data.columns.insert(data.columns.end(), features.begin(), features.end());
    data.columns.insert(data.columns.end(), {"prediction", "score", "label"});

    std::string csv;
    auto append_record = [&csv](const std::vector<std::string>& fields) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i > 0) csv += ',';
            csv += csv_field(fields[i]);
        }
        csv += "\r\n";
    };
    append_record(data.columns);
    std::vector<std::string> fields;
    for (const ExportedRow& row : rows) {
        fields = {row.id, row.ts, row.model_version};
        for (const std::string& feature : features) {
            auto found = row.features.is_object() ? row.features.find(feature) : row.features.end();
            fields.push_back(found != row.features.end() ? feature_text(*found) : std::string());
        }
        fields.insert(fields.end(), {row.prediction, row.score, row.label});
        append_record(fields);
    }
    if (!write_file(context.data_path, csv, result.error)) return result;

    context.context_json = context_json(job, context.finding, &data);
    if (!write_file(context.context_path, context.context_json, result.error)) return result;
    result.context = std::move(context);
    return result;
}

std::vector<std::pair<std::string, std::string>> job_environment(const Job& job, const JobContext& context,
                                                                 const JobContextOptions& options) {
    std::vector<std::pair<std::string, std::string>> environment = {
        {"PATH", "/usr/bin:/bin"},
        {"LANG", "C.UTF-8"},
        {"MODELWATCH_JOB_ID", std::to_string(job.id)},
        {"MODELWATCH_MODEL", job.model},
        {"MODELWATCH_CHAMPION_VERSION", job.champion_version.value_or("")},
        {"MODELWATCH_TRIGGER", job.trigger},
        {"MODELWATCH_REASON", job.reason},
        {"MODELWATCH_JOB_DIR", context.job_dir.string()},
        {"MODELWATCH_CONTEXT", context.context_path.string()},
        {"MODELWATCH_DATA", context.data_path.string()},
        {"MODELWATCH_REPORT", context.report_path.string()},
    };
    if (!options.job_database_uri.empty()) environment.emplace_back("MODELWATCH_DATABASE_URI", options.job_database_uri);
    for (const auto& [name, value] : options.extra_environment) {
        // A configured variable replaces PATH or LANG rather than duplicating
        // it (getenv would see only the first), but never a MODELWATCH_ one:
        // the runner reads the report where MODELWATCH_REPORT says.
        auto same = std::find_if(environment.begin(), environment.end(),
                                 [&name](const auto& entry) { return entry.first == name; });
        if (same == environment.end()) environment.emplace_back(name, value);
        else if (!name.starts_with("MODELWATCH_")) same->second = value;
    }
    return environment;
}

}  // namespace mw::retrain
