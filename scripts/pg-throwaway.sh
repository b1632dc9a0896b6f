#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and the quick start.
#   scripts/pg-throwaway.sh start DIR   initdb into DIR (if new), start on a free
#                                       port of 127.0.0.1 with its socket in DIR,
#                                       create database "modelwatch", print the DSN
#   scripts/pg-throwaway.sh stop DIR    fast shutdown
#   scripts/pg-throwaway.sh dsn DIR     print the DSN of a running cluster
# initdb refuses to run as root, so as root the cluster belongs to "postgres".
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
cmd=${1:?usage: pg-throwaway.sh start|stop|dsn DIR}
dir=${2:?usage: pg-throwaway.sh start|stop|dsn DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

dsn() {
  echo "host=$dir port=$(cat "$dir/port") dbname=modelwatch user=postgres"
}

case $cmd in
  start)
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
    fi
    # A restarted cluster keeps its port, so clients' DSNs stay valid.
    if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); echo "$port" > "$dir/port"; fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100" start >/dev/null
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname='modelwatch'" | grep -q 1 ||
      as_owner "$bin/createdb" -h "$dir" -p "$port" -U postgres modelwatch
    dsn
    ;;
  stop)
    [ -f "$data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || true
    ;;
  dsn)
    dsn
    ;;
  *)
    echo "usage: pg-throwaway.sh start|stop|dsn DIR" >&2
    exit 2
    ;;
esac
