// The NATS collector's naming rules; its delivery (acks after the spool's
// fdatasync, terminated rejects, back-pressure, restarts) is tested against a
// real nats-server and PostgreSQL in tests/integration/test_nats_ingest.py.
#include <catch2/catch.hpp>

#include "collectors/nats_collector.h"

TEST_CASE("a NATS subject names its model in the one token after the prefix") {
    CHECK(mw::nats_subject_model("modelwatch.predictions", "modelwatch.predictions.churn") == "churn");
    CHECK(mw::nats_subject_model("p", "p.credit-default") == "credit-default");
    // Not below the prefix, or not exactly one token below it.
    CHECK(mw::nats_subject_model("modelwatch.predictions", "modelwatch.predictions").empty());
    CHECK(mw::nats_subject_model("modelwatch.predictions", "modelwatch.predictions.").empty());
    CHECK(mw::nats_subject_model("modelwatch.predictions", "modelwatch.predictionsx.churn").empty());
    CHECK(mw::nats_subject_model("modelwatch.predictions", "modelwatch.predictions.a.b").empty());
    CHECK(mw::nats_subject_model("modelwatch.predictions", "modelwatch.outcomes.churn").empty());
}

TEST_CASE("each record kind has its own durable consumer under the configured name") {
    mw::config::NatsOptions options;
    options.consumer = "mw";
    CHECK(mw::nats_durable_name(options, mw::RecordKind::prediction) == "mw-predictions");
    CHECK(mw::nats_durable_name(options, mw::RecordKind::outcome) == "mw-outcomes");
}
