#include "core/finding.h"

namespace mw {

const char* to_string(Severity severity) {
    switch (severity) {
        case Severity::info: return "info";
        case Severity::warning: return "warning";
        case Severity::critical: return "critical";
    }
    return "?";
}

}  // namespace mw
