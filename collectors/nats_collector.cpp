#include "collectors/nats_collector.h"

#include <chrono>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <nats/nats.h>

#include "core/log.h"

namespace mw {
namespace {

// How long a missing stream or consumer, a refused connection or a run of
// failing pulls waits before the next attempt: often enough to recover
// quickly once the operator fixes it, rarely enough not to flood the log.
constexpr auto nats_setup_retry = std::chrono::seconds(2);
// How often a paused collector looks at the spool again.
constexpr auto nats_pause_poll = std::chrono::milliseconds(200);
// Pull failures in a row after which the subscription is made again (the
// consumer may have been deleted, or the stream recreated).
constexpr int nats_failures_before_resubscribe = 3;
// How long connecting to one server may take.
constexpr std::int64_t nats_connect_timeout_ms = 2000;
constexpr std::int64_t nanoseconds_per_millisecond = 1'000'000;

const char* nats_kind_suffix(RecordKind kind) { return kind == RecordKind::prediction ? "predictions" : "outcomes"; }

const std::string& nats_subject_of(const config::NatsOptions& options, RecordKind kind) {
    return kind == RecordKind::prediction ? options.predictions_subject : options.outcomes_subject;
}

std::string nats_status_text(natsStatus status) {
    // nats_GetLastError has the detail of the failing call on this thread.
    natsStatus last = NATS_OK;
    const char* detail = nats_GetLastError(&last);
    if (detail != nullptr && *detail != '\0' && last == status) return detail;
    return natsStatus_GetText(status);
}

void nats_sleep_unless_stopped(std::stop_token& stop, std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (!stop.stop_requested() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::min(duration, std::chrono::milliseconds(50)));
}

// Owners of the C client's objects, destroyed in reverse of creation.
struct NatsOptionsHandle {
    natsOptions* options = nullptr;
    ~NatsOptionsHandle() { natsOptions_Destroy(options); }
};

struct NatsSubscriptionHandle {
    natsSubscription* subscription = nullptr;
    NatsSubscriptionHandle() = default;
    NatsSubscriptionHandle(const NatsSubscriptionHandle&) = delete;
    NatsSubscriptionHandle& operator=(const NatsSubscriptionHandle&) = delete;
    // Destroy, never Unsubscribe: unsubscribing would delete the durable
    // consumer (and its position) for every daemon sharing it.
    ~NatsSubscriptionHandle() { natsSubscription_Destroy(subscription); }
};

struct NatsMessageList {
    natsMsgList list{};
    ~NatsMessageList() { natsMsgList_Destroy(&list); }
};

}  // namespace

struct NatsCollector::Connection {
    natsConnection* connection = nullptr;
    jsCtx* jetstream = nullptr;
    ~Connection() {
        jsCtx_Destroy(jetstream);
        natsConnection_Destroy(connection);
    }
};

std::string_view nats_subject_model(std::string_view prefix, std::string_view subject) {
    if (subject.size() <= prefix.size() + 1 || !subject.starts_with(prefix) || subject[prefix.size()] != '.')
        return {};
    const auto model = subject.substr(prefix.size() + 1);
    return model.find('.') == std::string_view::npos ? model : std::string_view();
}

std::string nats_durable_name(const config::NatsOptions& options, RecordKind kind) {
    return options.consumer + "-" + nats_kind_suffix(kind);
}

NatsCollector::NatsCollector(config::NatsOptions options, IngestSink& sink, FindSchema find_schema,
                             ParseMessage parse, RecordsSpooled spooled, std::function<SpoolRoom()> spool_room)
    : options_(std::move(options)),
      sink_(sink),
      find_schema_(std::move(find_schema)),
      parse_(std::move(parse)),
      spooled_(std::move(spooled)),
      spool_room_(std::move(spool_room)) {}

NatsCollector::~NatsCollector() { stop(); }

void NatsCollector::start() {
    predictions_thread_ = std::jthread([this](std::stop_token stop) { run(stop, RecordKind::prediction); });
    outcomes_thread_ = std::jthread([this](std::stop_token stop) { run(stop, RecordKind::outcome); });
}

void NatsCollector::stop() {
    for (auto* thread : {&predictions_thread_, &outcomes_thread_}) {
        thread->request_stop();
        if (thread->joinable()) thread->join();
    }
}

NatsCounters NatsCollector::counters(RecordKind kind) const {
    const auto& counters = counters_[kind == RecordKind::prediction ? 0 : 1];
    return {counters.fetched.load(),     counters.acked.load(),    counters.rejected.load(),
            counters.redelivered.load(), counters.deferred.load(), counters.fetch_errors.load()};
}

NatsStatus NatsCollector::status() const {
    NatsStatus status;
    {
        std::lock_guard lock(connection_mutex_);
        status.connected = connection_ != nullptr &&
                           natsConnection_Status(connection_->connection) == NATS_CONN_STATUS_CONNECTED;
    }
    status.subscribed = subscribed_[0] && subscribed_[1];
    status.paused = paused_[0] || paused_[1];
    std::lock_guard lock(error_mutex_);
    status.error = error_;
    return status;
}

void NatsCollector::set_error(std::string error) {
    std::lock_guard lock(error_mutex_);
    error_ = std::move(error);
}

// Connects once; afterwards the client reconnects by itself for ever
// (MaxReconnect -1), buffering nothing we depend on: a pull that fails while
// disconnected is simply made again.
bool NatsCollector::connect() {
    std::lock_guard lock(connect_mutex_);
    {
        std::lock_guard held(connection_mutex_);
        if (connection_) return true;
    }
    NatsOptionsHandle handle;
    natsStatus status = natsOptions_Create(&handle.options);
    natsOptions* options = handle.options;
    std::vector<const char*> servers;
    for (const auto& url : options_.servers) servers.push_back(url.c_str());
    if (status == NATS_OK) status = natsOptions_SetServers(options, servers.data(), static_cast<int>(servers.size()));
    if (status == NATS_OK) status = natsOptions_SetName(options, "modelwatchd");
    if (status == NATS_OK) status = natsOptions_SetTimeout(options, nats_connect_timeout_ms);
    if (status == NATS_OK) status = natsOptions_SetMaxReconnect(options, -1);
    if (status == NATS_OK) status = natsOptions_SetReconnectWait(options, 500);
    if (status == NATS_OK)
        status = natsOptions_SetDisconnectedCB(
            options, [](natsConnection*, void*) { log::warning("nats_disconnected reconnecting=true"); }, nullptr);
    if (status == NATS_OK)
        status = natsOptions_SetReconnectedCB(
            options,
            [](natsConnection*, void* closure) {
                ++*static_cast<std::atomic<std::uint64_t>*>(closure);
                log::notice("nats_reconnected");
            },
            &reconnects_);
    if (status == NATS_OK && !options_.user.empty())
        status = natsOptions_SetUserInfo(options, options_.user.c_str(), options_.password.c_str());
    if (status == NATS_OK && !options_.creds_file.empty())
        status = natsOptions_SetUserCredentialsFromFiles(options, options_.creds_file.c_str(), nullptr);
    if (status == NATS_OK && !options_.nkey.empty())
        status = natsOptions_SetNKeyFromSeed(options, options_.nkey.c_str(), options_.nkey_seed_file.c_str());
    if (status == NATS_OK && !options_.tls_ca_file.empty()) {
        status = natsOptions_SetSecure(options, true);
        if (status == NATS_OK) status = natsOptions_LoadCATrustedCertificates(options, options_.tls_ca_file.c_str());
    }
    if (status == NATS_OK && !options_.tls_cert_file.empty())
        status = natsOptions_LoadCertificatesChain(options, options_.tls_cert_file.c_str(),
                                                   options_.tls_key_file.c_str());
    if (status != NATS_OK) {
        set_error(fmt::format("NATS client options refused: {}", nats_status_text(status)));
        log::error("nats_options_failed error=\"{}\"", nats_status_text(status));
        return false;
    }
    auto connection = std::make_shared<Connection>();
    status = natsConnection_Connect(&connection->connection, options);
    if (status == NATS_OK) status = natsConnection_JetStream(&connection->jetstream, connection->connection, nullptr);
    if (status != NATS_OK) {
        std::string servers_text;
        for (const auto& url : options_.servers) servers_text += (servers_text.empty() ? "" : ",") + url;
        set_error(fmt::format("cannot connect to NATS at {}: {}", servers_text, nats_status_text(status)));
        log::warning("nats_connect_failed servers={} error=\"{}\"", servers_text, nats_status_text(status));
        return false;
    }
    {
        std::lock_guard held(connection_mutex_);
        connection_ = std::move(connection);
    }
    log::notice("nats_connected servers={}", options_.servers.front());
    return true;
}

void NatsCollector::run(std::stop_token stop, RecordKind kind) {
    const std::size_t slot = kind == RecordKind::prediction ? 0 : 1;
    KindCounters& counters = counters_of(kind);
    const std::string& subject_prefix = nats_subject_of(options_, kind);
    const std::string filter = subject_prefix + ".*";
    const std::string durable = nats_durable_name(options_, kind);
    const char* kind_name = nats_kind_suffix(kind);
    const auto retry = std::chrono::duration_cast<std::chrono::milliseconds>(nats_setup_retry);

    // Binds to the durable consumer, creating it when missing. Returns the
    // problem for the operator, or "" when subscribed.
    const auto subscribe = [&](Connection& connection, NatsSubscriptionHandle& subscription) -> std::string {
        jsConsumerInfo* info = nullptr;
        jsErrCode js_error = static_cast<jsErrCode>(0);
        natsStatus status = js_GetConsumerInfo(&info, connection.jetstream, options_.stream.c_str(), durable.c_str(),
                                               nullptr, &js_error);
        if (status != NATS_OK && js_error == JSStreamNotFoundErr)
            return fmt::format("stream \"{}\" does not exist: create it with subjects {}.* and {}.* (e.g. nats "
                               "stream add {} --subjects '{}.*,{}.*' --storage file)",
                               options_.stream, options_.predictions_subject, options_.outcomes_subject,
                               options_.stream, options_.predictions_subject, options_.outcomes_subject);
        if (status != NATS_OK && js_error == JSNotEnabledErr)
            return "JetStream is not enabled on the NATS server (nats-server -js)";
        if (status != NATS_OK && js_error == JSConsumerNotFoundErr) {
            jsConsumerConfig config;
            jsConsumerConfig_Init(&config);
            config.Durable = durable.c_str();
            config.AckPolicy = js_AckExplicit;
            config.DeliverPolicy = js_DeliverAll;
            config.AckWait = static_cast<std::int64_t>(options_.ack_wait_ms) * nanoseconds_per_millisecond;
            config.FilterSubject = filter.c_str();
            status = js_AddConsumer(&info, connection.jetstream, options_.stream.c_str(), &config, nullptr, &js_error);
            if (status != NATS_OK)
                return fmt::format("cannot create consumer \"{}\" on stream \"{}\": {} (JetStream error {})", durable,
                                   options_.stream, nats_status_text(status), static_cast<int>(js_error));
            log::notice("nats_consumer_created stream={} consumer={} filter={}", options_.stream, durable, filter);
        } else if (status != NATS_OK) {
            return fmt::format("cannot look up consumer \"{}\" on stream \"{}\": {} (JetStream error {})", durable,
                               options_.stream, nats_status_text(status), static_cast<int>(js_error));
        }
        std::string mismatch;
        const jsConsumerConfig* existing = info->Config;
        if (existing->DeliverSubject != nullptr && *existing->DeliverSubject != '\0')
            mismatch = "it is a push consumer (the daemon pulls)";
        else if (existing->AckPolicy != js_AckExplicit)
            mismatch = "its ack policy is not explicit (acks are what make delivery at least once)";
        else if (existing->FilterSubject == nullptr || filter != existing->FilterSubject)
            mismatch = fmt::format("it filters \"{}\", not \"{}\"",
                                   existing->FilterSubject ? existing->FilterSubject : "", filter);
        jsConsumerInfo_Destroy(info);
        if (!mismatch.empty())
            return fmt::format("consumer \"{}\" on stream \"{}\" cannot be used: {}; delete it or name another "
                               "nats.consumer",
                               durable, options_.stream, mismatch);
        jsSubOptions sub_options;
        jsSubOptions_Init(&sub_options);
        sub_options.Stream = options_.stream.c_str();
        sub_options.Consumer = durable.c_str();
        status = js_PullSubscribe(&subscription.subscription, connection.jetstream, filter.c_str(), durable.c_str(),
                                  nullptr, &sub_options, &js_error);
        if (status != NATS_OK)
            return fmt::format("cannot pull from consumer \"{}\": {} (JetStream error {})", durable,
                               nats_status_text(status), static_cast<int>(js_error));
        return {};
    };

    std::unique_ptr<NatsSubscriptionHandle> subscription;
    std::uint64_t bound_at_reconnects = 0;
    int failures_in_a_row = 0;
    // The spool's size when it last refused a batch; pulls wait until it is smaller.
    // (A bool beside the size: g++ 12 warns about std::optional<uint64_t> here.)
    bool spool_refused_batch = false;
    std::uint64_t refused_at_bytes = 0;
    while (!stop.stop_requested()) {
        if (!connect()) {
            nats_sleep_unless_stopped(stop, retry);
            continue;
        }
        std::shared_ptr<Connection> connection;
        {
            std::lock_guard lock(connection_mutex_);
            connection = connection_;
        }
        if (subscription && reconnects_.load() != bound_at_reconnects) {
            subscription.reset();
            subscribed_[slot] = false;
        }
        if (!subscription) {
            bound_at_reconnects = reconnects_.load();
            auto handle = std::make_unique<NatsSubscriptionHandle>();
            const auto problem = subscribe(*connection, *handle);
            if (!problem.empty()) {
                subscribed_[slot] = false;
                set_error(problem);
                log::error("nats_subscribe_failed kind={} consumer={} error=\"{}\"", kind_name, durable, problem);
                nats_sleep_unless_stopped(stop, retry);
                continue;
            }
            subscription = std::move(handle);
            subscribed_[slot] = true;
            set_error({});
            log::notice("nats_subscribed kind={} stream={} consumer={} filter={}", kind_name, options_.stream,
                        durable, filter);
        }
        // Back-pressure: no pull while the spool cannot take what it brings.
        const SpoolRoom room = spool_room_();
        if (spool_refused_batch && room.used_bytes < refused_at_bytes) spool_refused_batch = false;
        if (!room.has_room || spool_refused_batch) {
            if (!paused_[slot].exchange(true))
                log::warning("nats_fetch_paused kind={} reason=\"spool nearly full or backlog past spool.max_backlog\"",
                             kind_name);
            nats_sleep_unless_stopped(stop, nats_pause_poll);
            continue;
        }
        if (paused_[slot].exchange(false)) log::notice("nats_fetch_resumed kind={}", kind_name);

        NatsMessageList pulled;
        jsErrCode js_error = static_cast<jsErrCode>(0);
        const natsStatus status = natsSubscription_Fetch(&pulled.list, subscription->subscription,
                                                         static_cast<int>(options_.fetch_batch),
                                                         options_.fetch_timeout_ms, &js_error);
        if (status == NATS_TIMEOUT) {  // nothing to deliver within fetch_timeout
            failures_in_a_row = 0;
            continue;
        }
        if (status != NATS_OK) {
            ++counters.fetch_errors;
            const auto error = fmt::format("pull from consumer \"{}\" failed: {} (JetStream error {})", durable,
                                           nats_status_text(status), static_cast<int>(js_error));
            set_error(error);
            log::warning("nats_fetch_failed kind={} error=\"{}\"", kind_name, error);
            if (++failures_in_a_row >= nats_failures_before_resubscribe) {
                subscription.reset();
                subscribed_[slot] = false;
                failures_in_a_row = 0;
            }
            nats_sleep_unless_stopped(stop, std::chrono::milliseconds(500));
            continue;
        }
        if (failures_in_a_row > 0) set_error({});
        failures_in_a_row = 0;

        // Parse every message; what it accepted joins the batch of its model
        // and of the schema it was validated under: a reload between two
        // messages of one pull may reorder, add or remove features, and a
        // batch is encoded with one schema (core/record.h).
        struct ModelBatch {
            std::shared_ptr<const ModelSchema> schema;
            std::variant<PredictionBatch, OutcomeBatch> batch;
            std::size_t records = 0;
            std::vector<natsMsg*> messages;
        };
        std::map<std::pair<std::string, const ModelSchema*>, ModelBatch> batches;
        const auto reject = [&](natsMsg* message, std::string_view why) {
            ++counters.rejected;
            natsMsg_Term(message, nullptr);
            log::warning("nats_message_rejected kind={} subject={} error=\"{}\"", kind_name,
                         natsMsg_GetSubject(message), why);
        };
        for (int i = 0; i < pulled.list.Count; ++i) {
            natsMsg* message = pulled.list.Msgs[i];
            ++counters.fetched;
            std::int64_t arrival_us = 0;
            jsMsgMetaData* meta = nullptr;
            if (natsMsg_GetMetaData(&meta, message) == NATS_OK) {
                if (meta->NumDelivered > 1) ++counters.redelivered;
                arrival_us = meta->Timestamp / 1000;
                jsMsgMetaData_Destroy(meta);
            }
            if (arrival_us <= 0)
                arrival_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            const std::string_view subject = natsMsg_GetSubject(message);
            const auto model = nats_subject_model(subject_prefix, subject);
            auto schema = model.empty() ? nullptr : find_schema_(model);
            if (!schema) {
                reject(message, model.empty() ? "the subject names no model"
                                              : fmt::format("unknown model \"{}\"", model));
                continue;
            }
            const std::string_view body(natsMsg_GetData(message),
                                        static_cast<std::size_t>(natsMsg_GetDataLength(message)));
            ParsedLines parsed = parse_(kind, body, schema, arrival_us);
            if (!parsed.chunk_error.empty()) {
                reject(message, parsed.chunk_error);
                continue;
            }
            const std::size_t accepted = std::visit([](const auto& batch) { return batch.records.size(); },
                                                    parsed.batch);
            if (accepted == 0) {
                if (parsed.rejections.empty()) {  // an empty array: nothing to keep, nothing wrong
                    natsMsg_Ack(message, nullptr);
                    ++counters.acked;
                } else {
                    reject(message, fmt::format("every record was rejected (first: {})", parsed.rejections[0].reason));
                }
                continue;
            }
            auto [entry, inserted] = batches.try_emplace(std::pair(std::string(model), schema.get()));
            ModelBatch& group = entry->second;
            if (inserted) {
                group.schema = schema;
                group.batch = std::move(parsed.batch);
            } else {
                std::visit(
                    [&](auto& into) {
                        auto& from = std::get<std::decay_t<decltype(into)>>(parsed.batch);
                        into.records.insert(into.records.end(), std::make_move_iterator(from.records.begin()),
                                            std::make_move_iterator(from.records.end()));
                    },
                    group.batch);
            }
            group.records += accepted;
            group.messages.push_back(message);
        }

        // Spool each model's records with one fdatasync, then acknowledge.
        bool spool_refused = false;
        std::chrono::milliseconds sleep_after{0};
        for (auto& [key, group] : batches) {
            const std::string& model = key.first;
            IngestResult result = spool_refused
                                      ? IngestResult{IngestStatus::spool_full, "an earlier batch was refused", {}}
                                      : std::visit([&](auto& batch) { return submit_and_wait(sink_, std::move(batch)); },
                                                   group.batch);
            if (result.status == IngestStatus::durable) {
                for (natsMsg* message : group.messages) natsMsg_Ack(message, nullptr);
                counters.acked += group.messages.size();
                if (spooled_) {
                    const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
                    spooled_(model, kind, group.records - result.conflicts.size(), result.conflicts.size(), now);
                }
                continue;
            }
            // Handed back once each, after retry_delay; pulls stop while the
            // spool has no room, so this cannot turn into a loop.
            // Full: wait for the drain to make room. Failing (I/O): wait
            // retry_delay, as the messages do.
            if (!spool_refused && result.status == IngestStatus::spool_full) {
                spool_refused_batch = true;
                refused_at_bytes = spool_room_().used_bytes;
            }
            if (!spool_refused && result.status == IngestStatus::failed)
                sleep_after = std::chrono::milliseconds(options_.retry_delay_ms);
            spool_refused = true;
            for (natsMsg* message : group.messages)
                natsMsg_NakWithDelay(message, static_cast<std::int64_t>(options_.retry_delay_ms), nullptr);
            counters.deferred += group.messages.size();
            log::warning("nats_messages_deferred kind={} model={} messages={} reason=\"{}\"", kind_name, model,
                         group.messages.size(), result.message);
        }
        if (sleep_after.count() > 0) nats_sleep_unless_stopped(stop, sleep_after);
    }
    subscribed_[slot] = false;
}

}  // namespace mw
