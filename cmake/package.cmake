# The Debian package (CPack DEB; scripts/package.sh makes it from the release
# build directory). Installed as the /usr prefix with DESTDIR, so the
# install-time layout (cmake/install_layout.cmake) puts the configuration in
# /etc and the unit in /lib/systemd/system.
# cpack (and `make install`) must not build everything first (tests,
# benchmarks): scripts/package.sh builds the two programs it packages.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME modelwatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# With DESTDIR, the install runs with CMAKE_INSTALL_PREFIX=/usr itself (not a
# staging path), which the install-time layout needs to put /etc and
# /lib/systemd/system where Debian has them.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "modelwatch maintainers <maintainers@users.noreply.r-seed-2f7d2d92.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from the binaries (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql")
# nats-server: the JetStream the optional nats: collector reads from (usually on other hosts).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus-alertmanager, nats-server")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "monitors machine-learning models in production")
set(CPACK_PACKAGE_DESCRIPTION "modelwatchd ingests predictions and outcomes over HTTP and from NDJSON files
into a durable local spool and PostgreSQL, and runs drift, concept drift,
data quality, performance, anomaly and bias detection on live windows, with
alerts (Alertmanager, PagerDuty, Slack, webhooks), retraining and scheduled
fairness audits. modelwatch runs the same detectors on CSV files and speaks
the daemon's admin API.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
  ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
  ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/package)
include(CPack)
