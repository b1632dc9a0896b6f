// modelwatch: offline reports on CSV files and tools for operating the daemon.
#include <span>

#include "cli/commands.h"

int main(int argc, char** argv) {
    return mw::cli::run_modelwatch(std::span<char* const>(argv + 1, static_cast<std::size_t>(argc - 1)));
}
