#include "alerts/exec_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "alerts/sink_support.h"
#include "alerts/webhook_sink.h"

namespace mw::alerts {

namespace {

// sysexits.h EX_DATAERR: "the input data was incorrect in some way".
constexpr int exit_refused = 65;

constexpr std::size_t max_env_entry_bytes = 8 << 10;

// A descriptor that can be closed early (core/unique_fd.h cannot).
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { close(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

std::string env_name(std::string_view prefix, std::string_view key) {
    std::string name(prefix);
    for (char c : key) {
        const auto u = static_cast<unsigned char>(c);
        name += (u < 0x80 && std::isalnum(u) != 0) ? static_cast<char>(std::toupper(u)) : '_';
    }
    return name;
}

// The captured output as one line of an error message.
std::string printable(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

struct RunOutcome {
    bool started = false;
    bool timed_out = false;
    int wait_status = 0;
    std::string output;
    bool output_truncated = false;
    std::string error;  // why the program could not be started
};

// True once the child has exited; leaves it a zombie (WNOWAIT) so that its
// pid, which is also its process group's id, cannot be reused before the
// group is killed.
bool has_exited(pid_t pid) {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

RunOutcome run(const ExecSinkOptions& options, const std::vector<std::string>& environment, const std::string& input) {
    RunOutcome outcome;
    // stdin is a socket rather than a pipe so that the parent can write with
    // MSG_NOSIGNAL: a program exiting without reading must not SIGPIPE the daemon.
    int stdin_pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdin_pair) != 0) {
        outcome.error = fmt::format("socketpair: {}", std::strerror(errno));
        return outcome;
    }
    Fd stdin_child(stdin_pair[0]);
    Fd stdin_parent(stdin_pair[1]);
    int output_pipe[2];
    if (::pipe2(output_pipe, O_CLOEXEC) != 0) {
        outcome.error = fmt::format("pipe: {}", std::strerror(errno));
        return outcome;
    }
    Fd output_parent(output_pipe[0]);
    Fd output_child(output_pipe[1]);

    std::vector<char*> argv;
    for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_child.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, output_child.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, output_child.get(), STDERR_FILENO);
    // Descriptors some library opened without O_CLOEXEC must not leak into it.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group, so that the timeout kills what it started too;
    // default signal dispositions and an empty mask, whatever the daemon's.
    sigset_t all_signals;
    sigset_t no_signals;
    sigfillset(&all_signals);
    sigemptyset(&no_signals);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setsigdefault(&attributes, &all_signals);
    posix_spawnattr_setsigmask(&attributes, &no_signals);
    pid_t pid = -1;
    const int spawn_error = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawn_error != 0) {
        outcome.error = fmt::format("start {}: {}", options.argv[0], std::strerror(spawn_error));
        return outcome;
    }
    outcome.started = true;
    // The child's ends close here, or the output would never reach EOF.
    stdin_child.close();
    output_child.close();
    ::fcntl(output_parent.get(), F_SETFL, O_NONBLOCK);
    // Wakes poll() when the child exits (Linux 5.3); without it, poll in short steps.
    Fd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
    std::size_t written = 0;
    if (input.empty()) stdin_parent.close();
    bool exited = false;
    char buffer[8192];
    while (output_parent.get() >= 0 || !exited) {
        const auto remaining =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (remaining.count() <= 0) break;
        pollfd fds[3];
        nfds_t count = 0;
        if (stdin_parent.get() >= 0) fds[count++] = {stdin_parent.get(), POLLOUT, 0};
        if (output_parent.get() >= 0) fds[count++] = {output_parent.get(), POLLIN, 0};
        if (!exited && exit_fd.get() >= 0) fds[count++] = {exit_fd.get(), POLLIN, 0};
        const std::int64_t step_ms =
            std::min<std::int64_t>(remaining.count(), exit_fd.get() >= 0 || exited ? 60000 : 50);
        if (::poll(fds, count, static_cast<int>(step_ms)) < 0 && errno != EINTR) break;
        if (stdin_parent.get() >= 0) {
            const ssize_t n =
                ::send(stdin_parent.get(), input.data() + written, input.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) written += static_cast<std::size_t>(n);
            // Done, or the program closed its stdin (EPIPE): either way no more to write.
            if (written == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) stdin_parent.close();
        }
        if (output_parent.get() >= 0) {
            const ssize_t n = ::read(output_parent.get(), buffer, sizeof buffer);
            if (n > 0) {
                const std::size_t room = options.max_output_bytes - outcome.output.size();
                outcome.output.append(buffer, std::min(room, static_cast<std::size_t>(n)));
                outcome.output_truncated = outcome.output_truncated || static_cast<std::size_t>(n) > room;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                output_parent.close();
            }
        }
        if (!exited && has_exited(pid)) {
            exited = true;
            stdin_parent.close();
            // Whatever it left running in its group dies with it, which also
            // releases the output pipe those processes may hold.
            ::kill(-pid, SIGKILL);
        }
    }
    if (!exited) {
        outcome.timed_out = true;
        ::kill(-pid, SIGKILL);
    }
    while (::waitpid(pid, &outcome.wait_status, 0) < 0 && errno == EINTR) {
    }
    return outcome;
}

}  // namespace

ExecSink::ExecSink(std::string name, ExecSinkOptions options) : name_(std::move(name)), options_(std::move(options)) {}

std::vector<std::string> exec_environment(const Alert& alert) {
    std::vector<std::string> environment = {
        "PATH=/usr/bin:/bin",
        std::string("MODELWATCH_ALERT_STATE=") + to_string(alert.state),
        "MODELWATCH_ALERT_FINGERPRINT=" + alert.fingerprint,
        "MODELWATCH_ALERT_STARTS_AT=" + format_rfc3339_ms(alert.starts_at_us),
        "MODELWATCH_ALERT_ENDS_AT=" + format_rfc3339_ms(alert.ends_at_us),
        "MODELWATCH_ALERT_GENERATOR_URL=" + alert.generator_url,
    };
    for (const auto& [key, value] : alert.labels)
        environment.push_back(env_name("MODELWATCH_ALERT_LABEL_", key) + "=" + value);
    for (const auto& [key, value] : alert.annotations)
        environment.push_back(env_name("MODELWATCH_ALERT_ANNOTATION_", key) + "=" + value);
    for (auto& entry : environment) {
        // A NUL inside a value would silently cut the variable short.
        std::replace(entry.begin(), entry.end(), '\0', ' ');
        // Linux refuses to exec with any one string over MAX_ARG_STRLEN (128
        // KiB) and with argv+environment over a quarter of the stack limit
        // (execve(2), "Limits on size of arguments and environment"): a long
        // annotation must not make the alert undeliverable. stdin has it whole.
        if (entry.size() > max_env_entry_bytes) {
            std::size_t cut = max_env_entry_bytes;
            while (cut > 0 && (static_cast<unsigned char>(entry[cut]) & 0xC0) == 0x80) --cut;
            entry.resize(cut);
        }
    }
    return environment;
}

DeliveryResult ExecSink::deliver(const Alert& alert) {
    DeliveryResult result;
    if (options_.argv.empty() || !options_.argv[0].starts_with('/')) {
        result.retryable = false;
        result.error = fmt::format("exec {}: argv[0] must be an absolute path, got \"{}\"", name_,
                                   options_.argv.empty() ? "" : options_.argv[0]);
        return result;
    }
    const RunOutcome outcome = run(options_, exec_environment(alert), webhook_body(alert));
    if (!outcome.started) {
        // A missing or non-executable program is a configuration error, the
        // same on every retry.
        result.retryable = false;
        result.error = fmt::format("exec {}: {}", name_, outcome.error);
        return result;
    }
    const std::string output = printable(outcome.output) + (outcome.output_truncated ? " [output truncated]" : "");
    const int status = outcome.wait_status;
    if (outcome.timed_out) {
        result.error = fmt::format("exec {}: timeout after {} ms, process group killed; output: {}", name_,
                                   options_.timeout_ms, output);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        result.delivered = true;
        result.retryable = false;
    } else if (WIFEXITED(status)) {
        result.retryable = WEXITSTATUS(status) != exit_refused;
        result.error = fmt::format("exec {}: {} exited with status {}{}; output: {}", name_, options_.argv[0],
                                   WEXITSTATUS(status), result.retryable ? "" : " (refused, not retried)", output);
    } else {
        const int signal_number = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        result.error =
            fmt::format("exec {}: {} killed by signal {} ({}); output: {}", name_, options_.argv[0], signal_number,
                        sigabbrev_np(signal_number) ? sigabbrev_np(signal_number) : "?", output);
    }
    return result;
}

namespace {

const config::SettingRow exec_sink_rows[] = {
    {.key = "command", .kind = config::ValueKind::argv, .required = true,
     .help = "the program (an absolute path, no shell) and its arguments; the alert is JSON on its stdin"},
};

}  // namespace

std::span<const config::SettingRow> exec_sink_options() { return exec_sink_rows; }

std::unique_ptr<AlertSink> make_exec_sink(const config::ReceiverConfig& receiver) {
    ExecSinkOptions options;
    options.argv = receiver.options.list("command");
    options.timeout_ms = receiver.timeout_ms;
    return std::make_unique<ExecSink>(receiver.name, options);
}

}  // namespace mw::alerts
