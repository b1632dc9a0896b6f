#include <cstdio>

#include "cli/commands.h"

namespace mw::cli {

int run_anomaly(Args) {
    std::fprintf(stderr, "modelwatch: this command is not built yet\n");
    return 2;
}

}  // namespace mw::cli
