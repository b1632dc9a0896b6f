// modelwatch migrate: applies the store's schema migrations, the same ones
// the daemon applies at start, so that an operator can migrate ahead of a
// rollout or check that a database is reachable and current.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <pqxx/except>

#include "cli/commands.h"
#include "store/database.h"
#include "store/migrations.h"

namespace mw::cli {
namespace {

constexpr const char* migrate_usage =
    "usage: modelwatch migrate [--dsn DSN]\n"
    "\n"
    "Applies the store's schema migrations to a PostgreSQL database and prints\n"
    "the versions applied. DSN is a libpq connection string, e.g.\n"
    "  \"host=/run/postgresql dbname=modelwatch\"; default: $MODELWATCH_DSN.\n"
    "Exit status: 0 migrated or already current, 1 PostgreSQL unreachable or\n"
    "the migration failed, 2 usage error.\n";

}  // namespace

std::string migrate_help() { return migrate_usage; }

namespace {

// libpq's messages end in a newline; the caller adds its own.
std::string_view trimmed(const char* message) {
    std::string_view text = message;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    return text;
}

}  // namespace

int run_migrate(Args args) {
    std::string dsn;
    if (const char* from_env = std::getenv("MODELWATCH_DSN")) dsn = from_env;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(migrate_usage, stdout);
            return 0;
        }
        if (arg == "--dsn" && i + 1 < args.size()) {
            dsn = args[++i];
        } else if (arg.starts_with("--dsn=")) {
            dsn = arg.substr(6);
        } else {
            std::fprintf(stderr, "modelwatch migrate: unexpected argument '%s'\n\n%s", args[i], migrate_usage);
            return 2;
        }
    }
    if (dsn.empty()) {
        std::fprintf(stderr, "modelwatch migrate: no database: pass --dsn DSN or set MODELWATCH_DSN\n\n%s",
                     migrate_usage);
        return 2;
    }

    config::StoreOptions options;
    options.dsn = dsn;
    const std::string shown_dsn = store::redact_dsn(dsn);
    try {
        const auto connection = store::connect(options);
        const int before = store::schema_version(*connection);
        const int applied = store::migrate(*connection);
        for (const auto& migration : store::migrations())
            if (migration.version > before && migration.version <= before + applied)
                std::printf("applied %d %.*s\n", migration.version, static_cast<int>(migration.name.size()),
                            migration.name.data());
        std::printf("schema at version %d (%d migration%s applied)\n", before + applied, applied,
                    applied == 1 ? "" : "s");
        return 0;
    } catch (const pqxx::broken_connection& error) {
        const auto message = trimmed(error.what());
        std::fprintf(stderr, "modelwatch migrate: cannot connect to PostgreSQL (%s): %.*s\n", shown_dsn.c_str(),
                     static_cast<int>(message.size()), message.data());
    } catch (const std::exception& error) {
        const auto message = trimmed(error.what());
        std::fprintf(stderr, "modelwatch migrate: migration failed on %s: %.*s\n", shown_dsn.c_str(),
                     static_cast<int>(message.size()), message.data());
    }
    return 1;
}

}  // namespace mw::cli
