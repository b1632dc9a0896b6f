#include <catch2/catch.hpp>

#include "core/html.h"

TEST_CASE("html_escape makes the five HTML metacharacters inert") {
    CHECK(mw::html_escape("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
    CHECK(mw::html_escape("plain text, ünïcode") == "plain text, ünïcode");
    CHECK(mw::html_escape("") == "");
}
