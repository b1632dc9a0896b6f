// The Elec2 model server: streams the data set in order, predicting each row
// with the model currently in --model-file and posting the predictions to
// modelwatchd, then each row's outcome --label-delay-rows later, as a real
// server and a delayed label source would. It reloads the model file when a
// promotion replaces it, and keeps score of what the served predictions,
// the never-retrained initial model and the "same class as the previous row"
// baseline would have reached (prequential accuracy: each row is predicted
// before its label is used).
//
// Live, it runs in lockstep with the daemon unless told not to
// (examples/elec2/lockstep.h): after each batch it waits until the daemon has
// judged what it was sent and no retraining job is pending, so the daemon's
// work takes no rows of the stream.
//
// In dry-run mode nothing is posted and no file is read: the loop retrains in
// process every --retrain-every rows with the training job's own code, on the
// last --recent-rows rows whose labels have arrived, to show what the loop
// can reach without the daemon.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "examples/elec2/result.h"

namespace mw::elec2 {

struct ServerOptions {
    std::string data_path = "data/elec2/elec2.csv.gz";
    std::string daemon_url = "http://127.0.0.1:8470";
    std::string model = "elec2";            // the modelwatch model name
    std::string model_file;                 // the served model; written with v0-initial when absent
    std::string token;                      // bearer token for the ingest API, if the daemon wants one
    std::size_t initial_rows = 2000;        // the first rows train v0-initial and are not streamed
    std::size_t batch_rows = 100;           // rows per POST; the model file is checked before each batch
    std::size_t label_delay_rows = 500;     // a row's outcome is posted once this many later rows were predicted
    double rows_per_second = 2000;          // pacing of the stream; 0 streams as fast as the daemon accepts
    std::size_t limit_rows = 0;             // stop after this many rows of the data set (initial rows included); 0: all
    std::string summary_path;               // where to write the summary JSON; empty: nowhere
    std::size_t score_from_row = 0;         // also score the rows from this one on (a held-out part); 0: none
    bool lockstep = true;                   // live: after each batch, wait until the daemon judged it (lockstep.h)
    double lockstep_timeout_seconds = 120;  // live, lockstep: a daemon that does not settle within this fails the stream
    // Live, lockstep: wait after the batches that end a multiple of this many
    // rows into the stream (the daemon's windows: they all end there while
    // promotions happen only at such a wait), 0: after every batch.
    std::size_t lockstep_rows = 0;
    bool dry_run = false;                   // no HTTP, no model file: retrain in process
    std::size_t retrain_every_rows = 0;     // dry run: retrain after this many streamed rows; 0: never
    std::size_t recent_rows = 4000;         // dry run: the training job's --recent-rows
    double holdout_share = 0.25;            // dry run: the training job's --holdout-share
};

struct ModelTakeover {
    std::string version;
    std::size_t from_row = 0;  // the first row (0-based index in the data set) it predicted
};

struct StreamSummary {
    std::size_t rows = 0;  // rows streamed (predicted and scored)
    std::size_t first_row = 0;
    double served_accuracy = 0;
    double static_accuracy = 0;
    double persistence_accuracy = 0;
    std::vector<ModelTakeover> model_versions;
    std::size_t scored_rows = 0;  // rows from options.score_from_row on, and their accuracies
    double scored_served_accuracy = 0;
    double scored_static_accuracy = 0;
    std::size_t predictions_accepted = 0;  // by the daemon
    std::size_t outcomes_accepted = 0;
    double stream_seconds = 0;             // from the first batch to the last answer
    std::size_t lockstep_waits = 0;        // one after each batch and one at the end, in lockstep
    double lockstep_seconds = 0;           // of stream_seconds, spent waiting for the daemon
};

// Fails on unreadable data, a bad model file, an unusable daemon URL, a 4xx
// from the daemon or a daemon that stays unreachable.
Result<StreamSummary> run_stream(const ServerOptions& options);

nlohmann::json to_json(const StreamSummary& summary, const ServerOptions& options);

// The summary as a small table for people.
std::string format_summary(const StreamSummary& summary);

// The record id of a row: "r" and the 0-based index zero-padded to 7 digits,
// so ids sort in stream order ("r0004096").
std::string row_id(std::size_t row_index);

}  // namespace mw::elec2
