#include "retrain/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "core/unique_fd.h"

namespace mw::retrain {

namespace {

using Clock = std::chrono::steady_clock;

// How long to keep reading output after the program exited and its group was
// killed: only a process that left the group (setsid) can still hold the pipe,
// and it must not hold the runner.
constexpr std::chrono::milliseconds drain_after_exit{1000};
// The longest single wait, so that an exit is noticed while a descendant that
// escaped the group still holds the pipe open.
constexpr std::chrono::milliseconds poll_slice{100};

std::string signal_name(int signal_number) {
    const char* abbreviation = sigabbrev_np(signal_number);
    if (abbreviation == nullptr) return fmt::format("signal {}", signal_number);
    return fmt::format("signal {} (SIG{})", signal_number, abbreviation);
}

std::string environment_value(const ProcessSpec& spec, std::string_view name) {
    for (const auto& [key, value] : spec.environment) {
        if (key == name) return value;
    }
    return "";
}

// The program to execute: argv[0] as a path when it has a '/', else the first
// executable of that name along the child's PATH (execvp semantics, but with
// the child's PATH rather than the daemon's).
std::optional<std::string> resolve_program(const ProcessSpec& spec, std::string& error) {
    const std::string& name = spec.argv.front();
    if (name.find('/') != std::string::npos) return name;
    std::string path = environment_value(spec, "PATH");
    std::size_t begin = 0;
    while (begin <= path.size()) {
        std::size_t end = path.find(':', begin);
        if (end == std::string::npos) end = path.size();
        const auto directory = std::string_view(path).substr(begin, end - begin);
        const auto candidate = fmt::format("{}/{}", directory.empty() ? std::string_view(".") : directory, name);
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        begin = end + 1;
    }
    error = fmt::format("spawn {}: not found in PATH={}", name, path);
    return std::nullopt;
}

std::chrono::milliseconds elapsed_ms(Clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
}

// Owns the posix_spawn attribute objects for the length of one spawn.
struct SpawnSetup {
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_t actions;
    SpawnSetup() {
        posix_spawnattr_init(&attributes);
        posix_spawn_file_actions_init(&actions);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

BoundedOutput::BoundedOutput(std::size_t head_bytes, std::size_t tail_bytes)
    : head_limit_(head_bytes), tail_limit_(tail_bytes) {}

void BoundedOutput::append(std::string_view bytes) {
    total_bytes_ += bytes.size();
    if (head_.size() < head_limit_) {
        std::size_t take = std::min(bytes.size(), head_limit_ - head_.size());
        head_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
    }
    if (tail_limit_ == 0 || bytes.empty()) return;
    tail_.append(bytes);
    // Trimming only when twice the limit keeps appends amortised O(1).
    if (tail_.size() >= 2 * tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
}

std::string BoundedOutput::text() const {
    std::string_view tail = tail_;
    if (tail.size() > tail_limit_) tail.remove_prefix(tail.size() - tail_limit_);
    std::size_t omitted = total_bytes_ - head_.size() - tail.size();
    if (omitted == 0) return head_ + std::string(tail);
    return fmt::format("{}\n[... {} bytes omitted ...]\n{}", head_, omitted, tail);
}

std::string ProcessResult::describe() const {
    if (!started || (!exited && signal == 0)) return error;
    std::string ending = exited ? fmt::format("exit code {}", exit_code) : "killed by " + signal_name(signal);
    if (timed_out) return fmt::format("timed out after {} ms ({})", duration.count(), ending);
    return ending;
}

ProcessResult run_process(const ProcessSpec& spec) {
    ProcessResult result;
    if (spec.argv.empty()) {
        result.error = "spawn: empty argv";
        return result;
    }
    std::optional<std::string> program = resolve_program(spec, result.error);
    if (!program) return result;

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(fmt::format("pipe2: {}", std::strerror(errno)));
    }
    UniqueFd read_end(pipe_fds[0]);

    std::vector<std::string> environment_entries;
    environment_entries.reserve(spec.environment.size());
    for (const auto& [name, value] : spec.environment) environment_entries.push_back(name + "=" + value);
    std::vector<char*> argv_pointers;
    for (const std::string& argument : spec.argv) argv_pointers.push_back(const_cast<char*>(argument.c_str()));
    argv_pointers.push_back(nullptr);
    std::vector<char*> environment_pointers;
    for (std::string& entry : environment_entries) environment_pointers.push_back(entry.data());
    environment_pointers.push_back(nullptr);

    const Clock::time_point start = Clock::now();
    pid_t pid = 0;
    int spawn_error = 0;
    {
        // Only the child keeps the write end once this block closes it, so EOF
        // on the read end means the child and everything it started closed it.
        UniqueFd write_end(pipe_fds[1]);
        SpawnSetup setup;
        // A new session makes the child the leader of a new process group
        // (pgid == pid), which is what the timeout signals; the signal mask and
        // dispositions are reset because the daemon blocks or ignores signals
        // for its own use.
        sigset_t empty_set;
        sigset_t all_signals;
        sigemptyset(&empty_set);
        sigfillset(&all_signals);
        posix_spawnattr_setflags(&setup.attributes,
                                 POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setsigmask(&setup.attributes, &empty_set);
        posix_spawnattr_setsigdefault(&setup.attributes, &all_signals);
        posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDERR_FILENO);
        // Descriptors the daemon opened without O_CLOEXEC (sockets, the spool)
        // must not reach a job.
        posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
        if (!spec.working_directory.empty()) {
            posix_spawn_file_actions_addchdir_np(&setup.actions, spec.working_directory.c_str());
        }
        spawn_error = ::posix_spawn(&pid, program->c_str(), &setup.actions, &setup.attributes, argv_pointers.data(),
                                    environment_pointers.data());
    }
    if (spawn_error != 0) {
        result.error = fmt::format("spawn {}: {}", *program, std::strerror(spawn_error));
        return result;
    }
    result.started = true;

    ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
    BoundedOutput output(spec.output_head_bytes, spec.output_tail_bytes);
    bool pipe_open = true;
    bool reaped = false;
    bool status_lost = false;
    int wait_status = 0;
    const Clock::time_point deadline = start + spec.timeout;
    std::optional<Clock::time_point> kill_at;
    Clock::time_point drain_until{};
    char buffer[65536];

    while (true) {
        if (!reaped) {
            // WNOWAIT leaves the child a zombie, so its pid (the group id)
            // cannot be reused before the rest of the group is killed.
            siginfo_t info{};
            const int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
            if (waited < 0 && errno == ECHILD) {
                // The daemon's SIGCHLD is SIG_IGN, so the kernel reaped the
                // child already and its status is lost.
                ::kill(-pid, SIGKILL);
                reaped = true;
                status_lost = true;
                drain_until = Clock::now() + drain_after_exit;
            } else if (waited == 0 && info.si_pid == pid) {
                ::kill(-pid, SIGKILL);
                while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
                }
                reaped = true;
                drain_until = Clock::now() + drain_after_exit;
            }
        }
        const Clock::time_point now = Clock::now();
        if (!reaped) {
            if (!result.timed_out && now >= deadline) {
                result.timed_out = true;
                ::kill(-pid, SIGTERM);
                kill_at = now + spec.kill_grace;
            }
            if (kill_at && now >= *kill_at) {
                ::kill(-pid, SIGKILL);
                kill_at.reset();
            }
        }
        if (reaped && (!pipe_open || now >= drain_until)) break;

        Clock::time_point next_event = now + poll_slice;
        if (reaped) next_event = std::min(next_event, drain_until);
        else if (kill_at) next_event = std::min(next_event, *kill_at);
        else if (!result.timed_out) next_event = std::min(next_event, deadline);
        int wait_ms = static_cast<int>(
            std::max<std::int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(next_event - now).count()));

        pollfd descriptor{read_end.get(), POLLIN, 0};
        int ready = ::poll(pipe_open ? &descriptor : nullptr, pipe_open ? 1 : 0, wait_ms);
        if (ready < 0 && errno != EINTR) throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
        if (ready <= 0) continue;
        while (true) {
            ssize_t count = ::read(read_end.get(), buffer, sizeof buffer);
            if (count > 0) {
                output.append(std::string_view(buffer, static_cast<std::size_t>(count)));
                continue;
            }
            if (count == 0 || (errno != EAGAIN && errno != EINTR)) pipe_open = false;
            if (count < 0 && errno == EINTR) continue;
            break;
        }
    }

    result.duration = elapsed_ms(start);
    if (status_lost) {
        result.error = "exit status unavailable: SIGCHLD is ignored in the daemon";
    } else if (WIFEXITED(wait_status)) {
        result.exited = true;
        result.exit_code = WEXITSTATUS(wait_status);
    } else if (WIFSIGNALED(wait_status)) {
        result.signal = WTERMSIG(wait_status);
    }
    result.output = output.text();
    result.output_bytes_total = output.total_bytes();
    return result;
}

}  // namespace mw::retrain
