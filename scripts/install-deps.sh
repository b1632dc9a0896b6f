#!/usr/bin/env bash
# Installs the Debian 12 packages modelwatch builds, tests and runs with.
# Skips apt entirely when everything is already there, so repeated runs are quick.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config lld
  libboost-dev libboost-system-dev libpqxx-dev libpq-dev prometheus-cpp-dev
  libyaml-cpp-dev libfmt-dev nlohmann-json3-dev libsimdjson-dev libssl-dev libnats-dev zlib1g-dev catch2
  # fuzzing the parsers (libFuzzer) and the sanitizer runtime
  clang-14 libclang-rt-14-dev
  # the real components the tests and the quick start run
  postgresql-15 postgresql-client-15 prometheus-alertmanager systemd
  # JetStream for the NATS collector's tests and bench
  nats-server
  # promtool for the contrib/ checks, and Prometheus scraping the daemon in test_prometheus
  prometheus
  # test harness and reference vectors
  python3 python3-psycopg2 python3-numpy python3-scipy python3-sklearn
  # the daemon's clock moved near midnight in bench/ingest_bench.py --midnight (libfaketime)
  faketime
  # rendering checks of the HTML reports
  chromium
  # the Debian package (scripts/package.sh: CPack runs dpkg-deb and dpkg-shlibdeps;
  # tests/integration/test_package.py: lintian, man page rendering, bash completion)
  dpkg-dev lintian man-db bash-completion
  # misc tools used by scripts
  procps curl ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
