#include "daemon/performance_causes.h"

#include <chrono>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "core/log.h"
#include "daemon/detector_options.h"
#include "daemon/window_table.h"
#include "store/monitor_store.h"

namespace mw::daemon {
namespace {

bool whole_window_drop(const Finding& finding) {
    return finding.kind == "performance" && finding.triggered && finding.subject.find('[') == std::string::npos;
}

rootcause::FeatureDrift stored_drift_verdict(const Finding& finding) {
    return {.feature = finding.subject,
            .method = finding.method,
            .statistic = finding.statistic,
            .p_value = finding.p_value,
            .drifted = finding.triggered};
}

std::vector<rootcause::FeatureDrift> stored_drift_verdicts(const std::vector<Finding>& findings) {
    std::vector<rootcause::FeatureDrift> verdicts;
    for (const auto& finding : findings)
        if (finding.kind == "feature_drift" && finding.subject.find('[') == std::string::npos)
            verdicts.push_back(stored_drift_verdict(finding));
    return verdicts;
}

// The ranking of one pending finding, as its evidence's "root_cause".
nlohmann::json rank_one(pqxx::connection_base& connection, const RankingBasis& basis,
                        const store::PendingRootCause& pending) {
    const auto& model = basis.options.schema.name;
    const bool estimated = pending.method == "cbpe";
    if (pending.window.reference_id && *pending.window.reference_id != basis.reference_id)
        return {{"error", fmt::format("not ranked: the window was judged against reference {}, replaced by {} "
                                      "before its ranking ran",
                                      *pending.window.reference_id, basis.reference_id)}};
    if (!basis.reference || (estimated && !basis.cbpe))
        return {{"error", "the reference has no labelled rows to compare segments with"}};
    const auto rows = store::read_window_rows(connection, model, pending.window);
    const auto table = rows_to_table(rows, basis.judged);
    rootcause::RankingOptions options;
    options.metric = pending.metric;
    options.spec = performance_spec(basis.options, "");
    // One minimum for every output: the segment-gap findings' too.
    options.min_segment_rows = basis.options.performance.min_segment_rows;
    if (estimated) options.cbpe = &*basis.cbpe;
    if (basis.clock) options.clock = basis.clock;

    // The window is stored with its drift verdicts and its metric by now;
    // the recent windows' series is of the finding's own kind (realised or
    // estimated), its last window this one.
    const auto history = store::recent_drift_verdicts(connection, model, pending.metric, estimated,
                                                      pending.window.sequence, root_cause_history_windows);
    std::vector<rootcause::FeatureDrift> window_drift;
    if (!history.empty() && history.back().sequence == pending.window.sequence)
        window_drift = stored_drift_verdicts(history.back().drift);
    auto ranking = rootcause::rank_causes(ranking_rows(table, basis.judged, basis.options.drift.segments, !estimated),
                                          *basis.reference, options, window_drift);
    std::vector<rootcause::HistoryWindow> series;
    for (const auto& window : history)
        if (window.metric) series.push_back({*window.metric, stored_drift_verdicts(window.drift)});
    if (ranking.ok()) rootcause::rank_by_history(ranking, series);
    if (!ranking.ok())
        log::warning("root_cause_unavailable model={} window={} metric={} error=\"{}\"", model,
                     pending.window.sequence, pending.metric, ranking.error);
    return rootcause::to_json(ranking);
}

}  // namespace

std::shared_ptr<const RankingBasis> ranking_basis(const ReferenceFit& fitted, const config::ModelOptions& options) {
    auto basis = std::make_shared<RankingBasis>();
    basis->reference_id = fitted.reference_id;
    basis->options = options;
    basis->judged = fitted.judged;
    basis->reference = fitted.causes_reference;
    basis->cbpe = fitted.cbpe;
    return basis;
}

bool mark_performance_drops(const ReferenceFit& fitted, std::vector<Finding>& findings) {
    bool waiting = false;
    for (auto& finding : findings) {
        if (!whole_window_drop(finding)) continue;
        auto evidence = nlohmann::json::parse(finding.evidence_json, nullptr, false);
        if (!evidence.is_object()) evidence = nlohmann::json::object();
        if (!fitted.causes_reference || (finding.method == "cbpe" && !fitted.cbpe)) {
            evidence["root_cause"] = {{"error", "the reference has no labelled rows to compare segments with"}};
        } else {
            // What the finding's page and an alert routed before the ranking
            // (alerts::root_cause_wait_ms) say meanwhile.
            evidence["root_cause"] = {{"pending", true},
                                      {"summary", "the causes are being ranked; this finding's page shows them "
                                                  "once ranked"}};
            waiting = true;
        }
        finding.evidence_json = evidence.dump();
    }
    return waiting;
}

void RankingRequests::on_request(std::function<void()> notify) {
    std::lock_guard lock(mutex_);
    notify_ = std::move(notify);
}

void RankingRequests::request(const std::string& model, std::shared_ptr<const RankingBasis> basis) {
    std::function<void()> notify;
    {
        std::lock_guard lock(mutex_);
        requests_[model] = std::move(basis);
        failed_turns_.erase(model);
        notify = notify_;
    }
    if (notify) notify();
}

std::map<std::string, std::shared_ptr<const RankingBasis>> RankingRequests::take() {
    std::lock_guard lock(mutex_);
    return std::exchange(requests_, {});
}

void RankingRequests::give_back(const std::string& model, std::shared_ptr<const RankingBasis> basis) {
    std::lock_guard lock(mutex_);
    requests_.try_emplace(model, std::move(basis));  // a newer request of the model wins
}

int RankingRequests::give_back_failed(const std::string& model, std::shared_ptr<const RankingBasis> basis) {
    std::lock_guard lock(mutex_);
    const int failed = ++failed_turns_[model];
    if (failed >= root_cause_store_attempts)
        failed_turns_.erase(model);
    else
        requests_.try_emplace(model, std::move(basis));
    return failed;
}

void RankingRequests::turn_succeeded(const std::string& model) {
    std::lock_guard lock(mutex_);
    failed_turns_.erase(model);
}

RankingTurn rank_pending_drops(pqxx::connection_base& connection, const RankingBasis& basis, PassControl& control,
                               std::size_t limit) {
    const auto& model = basis.options.schema.name;
    RankingTurn turn;
    // One more than the limit tells whether any is left for the next turn.
    const auto pending = store::pending_root_causes(connection, model, limit + 1);
    turn.more = pending.size() > limit;
    for (std::size_t i = 0; i < pending.size() && i < limit; ++i) {
        control.checkpoint();
        const auto started = std::chrono::steady_clock::now();
        nlohmann::json ranking;
        try {
            ranking = pending[i].window_gone
                          ? nlohmann::json{{"error", "not ranked: retention removed the finding's window before its "
                                                     "ranking ran"}}
                          : rank_one(connection, basis, pending[i]);
        } catch (const PassInterrupted&) {
            throw;
        } catch (const pqxx::failure&) {
            throw;  // the store's trouble (connection, timeout): still pending, ranked at a later request
        } catch (const std::exception& failure) {
            // A ranking that cannot be computed from this window is said in
            // the finding rather than left pending: the model's findings are
            // ranked oldest first, so every later drop would wait behind it.
            log::error("root_cause_failed model={} window={} finding={} error=\"{}\"", model,
                       pending[i].window.sequence, pending[i].finding_id, failure.what());
            ranking = {{"error", fmt::format("not ranked: {}", failure.what())}};
        }
        control.checkpoint();
        const bool attached = store::attach_root_cause(connection, pending[i].finding_id, ranking.dump());
        ++turn.ranked;
        const auto took_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
        log::info("root_cause model={} window={} finding={} metric={} estimated={} single_cause={} ms={} "
                  "attached={} summary=\"{}\"",
                  model, pending[i].window.sequence, pending[i].finding_id, pending[i].metric,
                  pending[i].method == "cbpe", ranking.value("single_cause", false), took_ms, attached,
                  ranking.value("summary", ranking.value("error", std::string())));
    }
    return turn;
}

bool rank_requested_drops(pqxx::connection_base& connection, RankingRequests& requests, PassControl& control,
                          const std::function<bool(const std::string&)>& owned) {
    auto taken = requests.take();
    bool more = false;
    // The requests not served when the pass ends early: their findings stay
    // pending in the store, and this keeps them asked for.
    const auto give_back_from = [&](auto from) {
        for (auto it = from; it != taken.end(); ++it) requests.give_back(it->first, it->second);
    };
    for (auto it = taken.begin(); it != taken.end(); ++it) {
        const auto& [model, basis] = *it;
        try {
            control.checkpoint();
            if (!owned(model)) continue;
            // A few findings per model and turn, so one model's backlog
            // does not keep the others' drops unexplained; the rest next pass.
            const auto turn = rank_pending_drops(connection, *basis, control);
            requests.turn_succeeded(model);
            if (turn.more) {
                requests.give_back(model, basis);
                more = true;
            }
        } catch (const PassInterrupted&) {
            give_back_from(it);
            throw;
        } catch (const pqxx::broken_connection&) {
            give_back_from(it);
            throw;  // the worker reconnects
        } catch (const std::exception& failure) {
            if (!connection.is_open()) {
                give_back_from(it);
                throw;
            }
            try {
                control.checkpoint();  // a statement cancelled because the worker is stopping is no failure
            } catch (const PassInterrupted&) {
                give_back_from(it);
                throw;
            }
            // One model's failure must not stop the others'.
            const int failed = requests.give_back_failed(model, basis);
            if (failed < root_cause_store_attempts)
                log::warning("root_cause_store_failed model={} failed_turns={} of={} action=retry_next_pass "
                             "error=\"{}\"",
                             model, failed, root_cause_store_attempts, failure.what());
            else
                log::error("root_cause_request_dropped model={} failed_turns={} error=\"{}\" reason=\"its findings "
                           "stay pending until the model's next drop or lease move\"",
                           model, failed, failure.what());
        }
    }
    return more;
}

}  // namespace mw::daemon
