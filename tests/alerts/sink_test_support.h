// An alert as the router would hand it to a sink, for the sink tests.
#pragma once

#include "alerts/alert_sink.h"

namespace mw::testing {

inline alerts::Alert sample_alert(alerts::AlertState state = alerts::AlertState::firing) {
    alerts::Alert alert;
    alert.fingerprint = "3f2a9c0e5b7d41e6a8c2f0b9d4e7a1c3b5d8e0f2a4c6e8b0d2f4a6c8e0b2d4f6";
    alert.state = state;
    alert.labels = {{"alertname", "ModelDrift"},
                    {"model", "churn"},
                    {"kind", "feature_drift"},
                    {"subject", "tenure"},
                    {"severity", "critical"}};
    alert.annotations = {{"summary", "churn: tenure drifted (PSI 0.31 > 0.2)"},
                         {"description", "PSI of tenure between reference and window 42 is 0.31."},
                         {"finding_url", "http://modelwatch:8470/v1/findings/42"}};
    alert.starts_at_us = 1714564800123456;                                      // 2024-05-01T12:00:00.123456Z
    alert.ends_at_us = state == alerts::AlertState::firing ? 1714565700000000   // +15 min
                                                           : 1714565000250000;  // cleared at 12:03:20.25
    alert.generator_url = "http://modelwatch:8470/v1/findings/42";
    return alert;
}

}  // namespace mw::testing
