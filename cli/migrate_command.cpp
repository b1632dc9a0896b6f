// modelwatch migrate: applies the store's schema migrations, the same ones
// the daemon applies at start, so that an operator can migrate ahead of a
// rollout or check that a database is reachable and current.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <pqxx/except>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "core/utf8.h"
#include "store/database.h"
#include "store/migrations.h"

namespace mw::cli {
namespace {

struct MigrateArguments {
    std::string dsn;
};

constexpr command_line::Option option_table[] = {
    {"--dsn", "DSN",
     "a libpq connection string, e.g. \"host=/run/postgresql dbname=modelwatch\"\n"
     "(default: $MODELWATCH_DSN)",
     false, command_line::stores<&MigrateArguments::dsn>},
};

std::string description() {
    return "Applies the store's schema migrations to a PostgreSQL database and prints\n"
           "the versions applied.\n";
}

constexpr Form forms[] = {{"migrate", "[--dsn DSN]", description, option_table}};

}  // namespace

std::span<const Form> migrate_forms() { return forms; }

namespace {

// libpq's messages end in a newline; the caller adds its own.
std::string_view trimmed(const char* message) {
    std::string_view text = message;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    return text;
}

}  // namespace

int run_migrate(Args args) {
    const auto given = parse_or_exit("migrate", forms[0], args);
    if (!given.run()) return given.exit_code;
    if (!given.parsed.positionals.empty())
        return usage_error("migrate", fmt::format("unexpected argument '{}'", given.parsed.positionals.front()));
    MigrateArguments arguments;
    if (const char* from_env = std::getenv("MODELWATCH_DSN")) arguments.dsn = from_env;
    command_line::apply(given.parsed, option_table, &arguments);
    const std::string& dsn = arguments.dsn;
    if (dsn.empty()) return usage_error("migrate", "no database: pass --dsn DSN or set MODELWATCH_DSN");

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
        return exit_ok;
    } catch (const pqxx::broken_connection& error) {
        const auto message = terminal_safe(trimmed(error.what()));  // PostgreSQL's words
        std::fprintf(stderr, "modelwatch migrate: cannot connect to PostgreSQL (%s): %s\n",
                     terminal_safe(shown_dsn).c_str(), message.c_str());
        return exit_unreachable;
    } catch (const std::exception& error) {
        const auto message = terminal_safe(trimmed(error.what()));
        std::fprintf(stderr, "modelwatch migrate: migration failed on %s: %s\n", terminal_safe(shown_dsn).c_str(),
                     message.c_str());
    }
    return exit_negative;
}

}  // namespace mw::cli
