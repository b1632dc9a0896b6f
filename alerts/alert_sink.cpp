#include "alerts/alert_sink.h"

namespace mw::alerts {

const char* to_string(AlertState state) {
    switch (state) {
        case AlertState::firing:
            return "firing";
        case AlertState::resolved:
            return "resolved";
    }
    return "unknown";
}

}  // namespace mw::alerts
