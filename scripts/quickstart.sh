#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build,
# start a throwaway PostgreSQL and modelwatchd, replay the bundled Elec2 data
# set (predictions, then their delayed outcomes) through the HTTP API, and
# show what was stored and what the daemon's metrics say. Then everything is
# stopped and removed, unless --keep-running is given.
#
#   scripts/quickstart.sh [--keep-running] [--rows N]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

keep_running=0
rows=0
while [ $# -gt 0 ]; do
  case $1 in
    --keep-running) keep_running=1 ;;
    --rows) rows=$2; shift ;;
    *) echo "usage: scripts/quickstart.sh [--keep-running] [--rows N]" >&2; exit 2 ;;
  esac
  shift
done

scripts/install-deps.sh
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target modelwatchd modelwatch >/dev/null

work=$(mktemp -d /tmp/modelwatch-quickstart.XXXXXX)
chmod 755 "$work"
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  scripts/pg-throwaway.sh stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting a throwaway PostgreSQL in $work/pg"
dsn=$(scripts/pg-throwaway.sh start "$work/pg")
# The documented port when it is free, so the README's examples work as typed.
port=$(/usr/bin/python3 -c '
import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 8470))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
sed -e "s|@STATE_DIR@|$work/state|" -e "s|@PORT@|$port|" -e "s|@DSN@|$dsn|" \
  config/examples/quickstart.yaml > "$work/modelwatch.yaml"
build/daemon/modelwatchd --check-config "$work/modelwatch.yaml"

echo "== starting modelwatchd on 127.0.0.1:$port (log: $work/modelwatchd.log)"
build/daemon/modelwatchd --config "$work/modelwatch.yaml" 2>"$work/modelwatchd.log" &
daemon_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/modelwatchd.log"; exit 1; }

echo "== replaying Elec2 (45,312 half-hours of the NSW electricity market) through the HTTP API"
limit=()
[ "$rows" -gt 0 ] && limit=(--limit "$rows")
/usr/bin/python3 scripts/replay_elec2.py --port "$port" --data data/elec2/elec2.csv.gz "${limit[@]}"

# Wait until everything acknowledged is in PostgreSQL.
for _ in $(seq 300); do
  lag=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '$1=="modelwatch_store_lag_seconds"{print $2}')
  [ "$lag" = "0" ] && break
  sleep 0.1
done

echo
echo "== what PostgreSQL holds"
psql "$dsn" -P pager=off -c "
  SELECT count(*) AS predictions,
         count(label) AS with_outcome,
         round(avg(label_delay_seconds)::numeric, 3) AS mean_label_delay_s
  FROM labelled_predictions WHERE model = 'elec2'"
echo "Accuracy of the never-retrained model, by block of 5,000 predictions (the concepts drift):"
psql "$dsn" -P pager=off -c "
  SELECT (substr(id, 7)::int / 5000) * 5000 AS from_row,
         count(*) AS labelled,
         round(avg((prediction_label = label)::int)::numeric, 3) AS accuracy
  FROM labelled_predictions WHERE model = 'elec2' AND label IS NOT NULL
  GROUP BY 1 ORDER BY 1"

echo "== modelwatchd's metrics (excerpt of http://127.0.0.1:$port/metrics)"
curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^modelwatch_(records_accepted_total|records_rejected_total|store_rows_written_total|store_up|store_lag_seconds|spool_bytes|spool_fsyncs_total)[ {]'

if [ "$keep_running" -eq 1 ]; then
  echo
  echo "modelwatchd keeps running on http://127.0.0.1:$port (PostgreSQL: $dsn). Ctrl-C stops both."
  echo "Try: curl -s -XPOST http://127.0.0.1:$port/v1/models/elec2/predictions -d '[{\"id\": \"p1\", \"features\": {\"nswprice\": 0.05}, \"prediction\": \"UP\", \"score\": 0.71}]'"
  wait "$daemon_pid" || true
  daemon_pid=
  exit 0
fi
echo "== stopping"
kill -TERM "$daemon_pid"
wait "$daemon_pid" && echo "modelwatchd stopped cleanly (exit 0)"
daemon_pid=
