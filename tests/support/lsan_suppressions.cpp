// LeakSanitizer suppressions for test_store (read by the sanitizer runtime
// through this weak hook; unused in builds without it).
//
// libpqxx 6.4.5 leaks one PGresult (about 2 KB, allocated inside libpq) when
// it finds the server connection gone, as the "lost connection" test of
// store_writer_test.cpp provokes on purpose. Our code never holds a libpq
// object itself (every result is a pqxx::result), so a leak whose stack
// reaches libpq can only be the library's.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() { return "leak:libpq.so.5\n"; }
