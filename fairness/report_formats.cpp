#include "fairness/report_formats.h"

#include "fairness/report_html.h"
#include "fairness/report_json.h"
#include "fairness/report_markdown.h"

namespace mw::fairness {

namespace {

constexpr ReportFormatEntry format_table[] = {
    {{"html", "a self-contained page with inline SVG charts"}, "html", render_html},
    {{"json", "every number of the audit, for programs (fairness/REPORT_SCHEMA.md)"}, "json", render_json},
    {{"md", "Markdown tables, for pull requests and wikis"}, "md", render_markdown},
};

}  // namespace

std::span<const ReportFormatEntry> report_formats() { return format_table; }

const ReportFormatEntry* find_report_format(std::string_view name) {
    return config::find_component(report_formats(), name);
}

}  // namespace mw::fairness
