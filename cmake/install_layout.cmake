# Runs at install time (install(SCRIPT) in the top-level CMakeLists.txt), so
# that the paths written into the installed files are those of *this* install:
# `cmake --install build --prefix /opt/mw` gives a unit that runs
# /opt/mw/sbin/modelwatchd with /opt/mw/etc/modelwatch/modelwatch.yaml.
# Inputs (set by the install(CODE) before it): MW_SOURCE_DIR, MW_BINARY_DIR,
# MW_SBINDIR, MW_SYSCONFDIR (as GNUInstallDirs has them, relative or absolute).

# The configuration directory: absolute when configured so; else, for the
# /usr prefix, /etc (FHS, as GNUInstallDirs does for /usr); else under the prefix.
if(IS_ABSOLUTE "${MW_SYSCONFDIR}")
  set(sysconfdir "${MW_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(sysconfdir "/${MW_SYSCONFDIR}")
else()
  set(sysconfdir "${CMAKE_INSTALL_PREFIX}/${MW_SYSCONFDIR}")
endif()
if(IS_ABSOLUTE "${MW_SBINDIR}")
  set(sbindir "${MW_SBINDIR}")
else()
  set(sbindir "${CMAKE_INSTALL_PREFIX}/${MW_SBINDIR}")
endif()

set(MODELWATCH_SBINDIR "${sbindir}")
set(MODELWATCH_SYSCONFDIR "${sysconfdir}")
configure_file("${MW_SOURCE_DIR}/systemd/modelwatchd.service.in" "${MW_BINARY_DIR}/install/modelwatchd.service" @ONLY)
# Vendor units live in <prefix>/lib/systemd/system (/lib/systemd/system for the
# package through the /usr prefix's merged /lib; /usr/local/lib/systemd/system
# is searched by systemd too).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(unitdir "/lib/systemd/system")
else()
  set(unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
file(INSTALL DESTINATION "${unitdir}" TYPE FILE FILES "${MW_BINARY_DIR}/install/modelwatchd.service")
# The installed configuration is the minimal working one; the annotated
# reference goes to the documentation (its placeholders fail --check-config).
file(INSTALL DESTINATION "${sysconfdir}/modelwatch" TYPE FILE
     FILES "${MW_SOURCE_DIR}/config/examples/minimal.yaml" RENAME modelwatch.yaml)
