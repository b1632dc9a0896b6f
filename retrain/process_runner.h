// Runs one external program for the retraining runners and the hooks: an argv
// executed directly (never through a shell, so nothing in a model name or a
// reason can be interpreted), in a session and process group of its own, with
// exactly the environment given, stdin from /dev/null, and stdout and stderr
// captured together through one pipe.
//
// Why a process group: trainers start helpers (data loaders, worker pools,
// `sh -c '... &'`). A timeout signals the whole group, first SIGTERM and after
// a grace period SIGKILL, and when the program itself exits whatever it left
// behind in its group is killed too, so a job never outlives its run.
//
// The output is bounded: the first `output_head_bytes` and the last
// `output_tail_bytes` are kept with a "[... N bytes omitted ...]" line between
// them, because the start says how a job began and the end says why it failed.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mw::retrain {

struct ProcessSpec {
    // argv[0] is the program: an absolute or relative path, or a bare name
    // looked up in the PATH of `environment` (not the daemon's own PATH).
    std::vector<std::string> argv;
    // The complete environment of the child, NAME=value pairs; nothing of the
    // daemon's environment is inherited.
    std::vector<std::pair<std::string, std::string>> environment;
    std::string working_directory;  // empty: the daemon's working directory
    std::chrono::milliseconds timeout{std::chrono::hours(1)};
    std::chrono::milliseconds kill_grace{std::chrono::seconds(10)};  // SIGTERM to SIGKILL
    std::size_t output_head_bytes = 32 * 1024;
    std::size_t output_tail_bytes = 32 * 1024;
};

struct ProcessResult {
    // False when the program could not be started at all; `error` says why
    // (e.g. "spawn /opt/train: No such file or directory"). `error` is also
    // set when it ran but its exit status could not be known.
    bool started = false;
    std::string error;
    bool exited = false;  // ended by exit(): `exit_code` is valid
    int exit_code = -1;
    int signal = 0;  // the signal that ended it, 0 when it exited
    bool timed_out = false;
    std::string output;  // stdout and stderr interleaved, bounded as above
    std::size_t output_bytes_total = 0;
    std::chrono::milliseconds duration{0};

    bool succeeded() const { return started && exited && exit_code == 0 && !timed_out; }
    // How it ended in plain words: "exit code 3", "killed by signal 11 (SIGSEGV)",
    // "timed out after 60000 ms (killed by signal 15 (SIGTERM))".
    std::string describe() const;
};

// Runs the program to its end (or its timeout) and returns what happened.
// Never throws for failures of the program; only for resource exhaustion in
// the daemon itself (pipe or poll failing).
ProcessResult run_process(const ProcessSpec& spec);

// Bounds a byte stream to its first `head_bytes` and last `tail_bytes`.
class BoundedOutput {
public:
    BoundedOutput(std::size_t head_bytes, std::size_t tail_bytes);
    void append(std::string_view bytes);
    std::size_t total_bytes() const { return total_bytes_; }
    // The head, then "\n[... N bytes omitted ...]\n" and the tail when
    // anything was dropped, else everything.
    std::string text() const;

private:
    std::size_t head_limit_;
    std::size_t tail_limit_;
    std::string head_;
    std::string tail_;  // the latest bytes after the head: trimmed to tail_limit_ when twice as long
    std::size_t total_bytes_ = 0;
};

}  // namespace mw::retrain
