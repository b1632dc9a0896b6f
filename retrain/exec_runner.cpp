#include "retrain/exec_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/unique_fd.h"

namespace mw::retrain {

JobReportParse read_job_report(const std::filesystem::path& report_path) {
    const std::string name = report_path.filename().string();
    UniqueFd file(::open(report_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (file.get() < 0) {
        if (errno == ENOENT) return {std::nullopt, fmt::format("{}: missing (the job did not write it)", name)};
        return {std::nullopt, fmt::format("{}: cannot open: {}", name, std::strerror(errno))};
    }
    struct stat status {};
    if (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
        return {std::nullopt, fmt::format("{}: not a regular file", name)};
    }
    if (static_cast<std::uint64_t>(status.st_size) > max_job_report_bytes) {
        return {std::nullopt,
                fmt::format("{}: {} bytes exceeds the limit of {} bytes", name, status.st_size, max_job_report_bytes)};
    }
    std::string text(static_cast<std::size_t>(status.st_size), '\0');
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t count = ::read(file.get(), text.data() + done, text.size() - done);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        done += static_cast<std::size_t>(count);
    }
    text.resize(done);
    JobReportParse parsed = parse_job_report(text);
    if (!parsed.report) parsed.error = fmt::format("{}: {}", name, parsed.error);
    return parsed;
}

JobRunResult judge_job_run(const ProcessResult& process, const std::filesystem::path& report_path) {
    JobRunResult result;
    result.output = process.output;
    result.duration = process.duration;
    if (!process.started) {
        result.state = JobState::failed;
        result.reason = process.error;
        return result;
    }
    if (process.timed_out) {
        result.state = JobState::timed_out;
        result.reason = process.describe();
        return result;
    }
    if (!process.succeeded()) {
        result.state = JobState::failed;
        result.reason = "job " + process.describe();
        return result;
    }
    JobReportParse parsed = read_job_report(report_path);
    if (!parsed.report) {
        result.state = JobState::failed;
        result.reason = "job exited 0 but its report is invalid: " + parsed.error;
        return result;
    }
    result.state = JobState::succeeded;
    result.reason = fmt::format("job exited 0 in {} ms; challenger {}", process.duration.count(),
                                parsed.report->challenger_version);
    result.report = std::move(parsed.report);
    return result;
}

JobRunResult run_prepared_job(const Job& job, const JobContext& context, const JobContextOptions& context_options,
                              const ExecRunnerOptions& options) {
    ProcessSpec spec;
    spec.argv = options.argv;
    spec.environment = job_environment(job, context, context_options);
    spec.working_directory = context.job_dir.string();
    spec.timeout = options.timeout;
    spec.kill_grace = options.kill_grace;
    return judge_job_run(run_process(spec), context.report_path);
}

JobRunResult run_exec_job(pqxx::connection_base& connection, const Job& job, const JobContextOptions& context_options,
                          const ExecRunnerOptions& options, std::int64_t now_us) {
    JobContextResult prepared = prepare_job_context(connection, job, context_options, now_us);
    if (!prepared.context) {
        JobRunResult result;
        result.state = JobState::failed;
        result.reason = "preparing the job directory failed: " + prepared.error;
        return result;
    }
    return run_prepared_job(job, *prepared.context, context_options, options);
}

namespace {

const config::SettingRow exec_runner_rows[] = {
    {.key = "command", .kind = config::ValueKind::argv, .required = true,
     .help = "the training job: a program (an absolute path, no shell) and its arguments; see docs/retraining.md"},
};

}  // namespace

std::span<const config::SettingRow> exec_runner_options() { return exec_runner_rows; }

}  // namespace mw::retrain
