# Build-time measures. On the 2-core machines the test command runs on,
# compiling and linking are most of its wall time (scripts/test.sh). Parsing the
# same headers again was about half of each file's compile time (g++ -ftime-report
# on a test file under ASan: 4.8 s of 12.6 s parsing, 1.8 s deferred parsing).

# Linker: for the sanitizer build, lld (Debian package lld), else gold (part of
# binutils, always there), both much faster than the default GNU ld on its large
# instrumented test binaries. Every other build links with GNU ld: a modelwatchd
# built at -O3 and linked by lld 14 aborted in the unwinder when an exception
# left the cold part of a function GCC 12 had split hot/cold (-O2 and up), a
# retrain pass's lock timeout (2026-12-07, test_hung_store); the same objects
# linked by GNU ld unwind as they should, and link the daemon in about a second.
if(MODELWATCH_SANITIZE)
  include(CheckLinkerFlag)
  check_linker_flag(CXX -fuse-ld=lld MODELWATCH_LINKER_LLD)
  if(MODELWATCH_LINKER_LLD)
    add_link_options(-fuse-ld=lld)
  else()
    check_linker_flag(CXX -fuse-ld=gold MODELWATCH_LINKER_GOLD)
    if(MODELWATCH_LINKER_GOLD)
      add_link_options(-fuse-ld=gold)
    endif()
  endif()
endif()

# Precompiled headers: the third-party and standard headers most sources include.
# One precompiled header is built per list and shared (REUSE_FROM) by every
# target compiled with the same flags; GCC checks on use that the macros the
# header depends on are defined the same way, and CMake passes -Winvalid-pch,
# so a mismatch shows as a warning (and the header is then parsed as text).
# Turn them off with -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON, e.g. to check that
# every file includes what it uses.
set(modelwatch_std_headers
  <algorithm> <array> <chrono> <cmath> <cstddef> <cstdint> <functional> <limits>
  <map> <memory> <optional> <span> <string> <string_view> <utility> <vector>)
# fmt and nlohmann/json are included by most library sources; Boost.Asio/Beast
# and libpqxx by a handful each, so precompiling them everywhere costs more than
# it saves.
set(modelwatch_library_headers ${modelwatch_std_headers} <fmt/format.h> <nlohmann/json.hpp>)
# Catch2 v2's single header is about 17,000 lines, included by every test file.
set(modelwatch_test_headers ${modelwatch_std_headers}
  <filesystem> <fstream> <random> <set> <sstream> <thread>
  <catch2/catch.hpp> <nlohmann/json.hpp>)

# modelwatch_pch_owner(<target> <headers...>): an object library whose only job
# is to build a precompiled header for other targets to reuse; it carries the
# compile definitions of fmt (FMT_SHARED) and Boost (BOOST_ALL_NO_LIB) that the
# libraries get from mw_core, since fmt's headers depend on FMT_SHARED.
function(modelwatch_pch_owner target)
  set(source ${CMAKE_CURRENT_BINARY_DIR}/${target}.cpp)
  file(CONFIGURE OUTPUT ${source} CONTENT "// The precompiled header is all ${target} builds.\n")
  add_library(${target} OBJECT ${source})
  target_precompile_headers(${target} PRIVATE ${ARGN})
endfunction()

modelwatch_pch_owner(mw_library_pch ${modelwatch_library_headers})
target_link_libraries(mw_library_pch PRIVATE fmt::fmt Boost::boost nlohmann_json::nlohmann_json)
