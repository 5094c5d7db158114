#!/usr/bin/env bash
# Tidings beside Miniflux on the same feeds, in the same run (issue 7's peer
# figures, measured here instead of quoted):
#
#  1. first ingest of SOURCES feeds × ITEMS items (~2.5 KB each) served by a
#     local nginx: `tidings fetch` into an empty store, and Miniflux taking
#     the same feeds from an OPML import (POST /v1/import, then
#     PUT /v1/feeds/refresh, so its own worker pool fetches them) until every
#     feed is stored in PostgreSQL; items/s each and the ratio;
#  2. a poll of the same feeds when every one answers 304: `tidings fetch`
#     again, and Miniflux refreshing every feed (PUT /v1/feeds/refresh) until
#     each feed's checked_at has moved; ROUNDS rounds, taken in turn, median.
#
# Miniflux (MINIFLUX_VERSION, default 2.3.5) is built from the Go module proxy
# into $OUT/bin; PostgreSQL is a throwaway cluster under $OUT/miniflux-pg with
# Debian's default settings, reached over a unix socket only, run as an
# unprivileged user (nobody, when this script runs as root). Optional, not in
# CI, and it needs the Debian package postgresql.
#
#   bench/miniflux/run.sh                           # 200 feeds × 250 items, a few minutes
#   SOURCES=2000 bench/miniflux/run.sh              # issue 7's size (500,000 items; over an hour on 2 busy cores)
#   MINIFLUX_WORKERS=16 ROUNDS=3 bench/miniflux/run.sh   # the defaults
source "$(dirname "$0")/../lib.sh"

SOURCES=${SOURCES:-200}
ITEMS=${ITEMS:-250}
ROUNDS=${ROUNDS:-3}
MINIFLUX_VERSION=${MINIFLUX_VERSION:-2.3.5}
MINIFLUX_WORKERS=${MINIFLUX_WORKERS:-16} # Miniflux's default WORKER_POOL_SIZE
need curl
need bc
need nginx nginx-light
need psql postgresql-client

# Debian keeps initdb and pg_ctl in /usr/lib/postgresql/VERSION/bin, off PATH.
pg_bin() {
  local d
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d" && return
  done
}
PGBIN=$(pg_bin)
if [ -z "$PGBIN" ]; then
  need initdb postgresql
  PGBIN=$(pg_bin)
fi

build_tidings

# Miniflux from the module proxy. `go install` names the binary after the
# module path (miniflux.app or v2 depending on the Go version), so it is built
# into a folder of its own and renamed.
MINIFLUX="$OUT/bin/miniflux-$MINIFLUX_VERSION"
if [ ! -x "$MINIFLUX" ]; then
  say "building Miniflux $MINIFLUX_VERSION from the Go module proxy (minutes, once)"
  tmp="$OUT/bin/miniflux-build"
  rm -rf "$tmp"
  GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-X miniflux.app/v2/internal/version.Version=$MINIFLUX_VERSION" \
    "miniflux.app/v2@v$MINIFLUX_VERSION"
  mv "$tmp"/* "$MINIFLUX"
  rmdir "$tmp"
fi
say "machine: $(machine)"

load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(load)

# The workload: the same generator and folder as bench/ingest/run.sh, so the
# two scripts share it.
PORT=$(free_port 18081)
gen_workload "$SOURCES" "$ITEMS" "$PORT"
start_nginx "$DATA" "$PORT"
wait_http "http://127.0.0.1:$PORT/feeds/s00000.xml"

# PostgreSQL. It refuses to run as root, so as root the cluster belongs to
# nobody; its folder must then be reachable by nobody, or it goes to /tmp.
PG="$OUT/miniflux-pg"
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  as_pg() { runuser -u nobody -- "$@"; }
fi
pg_stop() {
  [ -f "$PG/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m fast -w stop >/dev/null 2>&1
  return 0
}
stop_all() {
  cleanup # Miniflux and nginx first: Miniflux holds connections to PostgreSQL
  pg_stop
}
trap stop_all EXIT INT TERM

rm -rf "$PG"
mkdir -p "$PG/sock"
if [ "$(id -u)" = 0 ]; then
  chown -R nobody: "$PG"
  if ! as_pg test -w "$PG/sock"; then
    PG=$(mktemp -d /tmp/tidings-bench-pg.XXXXXX)
    mkdir -p "$PG/sock"
    chown -R nobody: "$PG"
    say "nobody cannot reach $OUT; PostgreSQL goes to $PG"
  fi
fi
as_pg "$PGBIN/initdb" -D "$PG/data" -U miniflux --auth=trust -E UTF8 --no-locale --no-sync >"$PG/initdb.log"
as_pg "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/postgres.log" -w \
  -o "-c listen_addresses='' -k $PG/sock -p 5432" start >/dev/null
psql_q() { psql -X -q -A -t -h "$PG/sock" -p 5432 -U miniflux -d "${PGDB:-miniflux}" -c "$1"; }
PGDB=postgres psql_q 'create database miniflux' >/dev/null

# Miniflux with its defaults, except what a benchmark on loopback needs:
# private addresses allowed (nginx is 127.0.0.1), no scheduler (no poll or
# cleanup of its own in the middle of a measurement: every refresh here comes
# from the API, through the same worker pool the scheduler feeds), and no
# feed set aside after parsing errors.
MPORT=$(free_port 18180)
MF_USER=bench
MF_PASS=bench-password
env DATABASE_URL="host=$PG/sock port=5432 user=miniflux dbname=miniflux sslmode=disable" \
  RUN_MIGRATIONS=1 CREATE_ADMIN=1 ADMIN_USERNAME="$MF_USER" ADMIN_PASSWORD="$MF_PASS" \
  LISTEN_ADDR="127.0.0.1:$MPORT" BASE_URL="http://127.0.0.1:$MPORT" \
  DISABLE_SCHEDULER_SERVICE=1 WORKER_POOL_SIZE="$MINIFLUX_WORKERS" \
  FETCHER_ALLOW_PRIVATE_NETWORKS=1 POLLING_PARSING_ERROR_LIMIT=0 \
  LOG_LEVEL="${MINIFLUX_LOG_LEVEL:-info}" LOG_DATE_TIME=1 "$MINIFLUX" >"$OUT/miniflux.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$MPORT/healthcheck"
api() { curl -fsS -u "$MF_USER:$MF_PASS" "$@"; }

# When did Miniflux finish? A feed's refresh ends with one UPDATE of its row
# (ETag, checked_at, next check; or the error), after its entries are
# committed. A row trigger stamps each update with the database's clock, so
# the end of a run is the newest stamp, to the millisecond, however coarsely
# this script polls (each psql call costs 0.1–0.2 s on a busy machine).
# Miniflux names its columns in every query, so one more is harmless.
psql_q "alter table feeds add column bench_updated_at timestamptz;
create function bench_stamp() returns trigger language plpgsql as \$\$
  begin new.bench_updated_at := clock_timestamp(); return new; end \$\$;
create trigger bench_stamp before update on feeds for each row execute function bench_stamp();" >/dev/null
# last_update T0: seconds from T0 (epoch) to the newest feed update.
last_update() { psql_q "select extract(epoch from max(bench_updated_at)) - $1 from feeds"; }
API="http://127.0.0.1:$MPORT/v1"

# 1. First ingest. Tidings.
rm -f "$DATA/tidings.db"
t0=$(now)
"$TIDINGS" fetch --config "$DATA/tidings.yaml" >"$OUT/miniflux-tidings-first.log"
t1=$(now)
t_first=$(echo "$t1 - $t0" | bc -l)
# items/s counts the items in the feeds (both programs parse and handle all
# of them); what each stores is printed beside: tidings keeps one copy of a
# story repeated within a feed, Miniflux one entry per GUID.
read -r t_items t_new < <(awk '/ new, / {for (i = 1; i <= NF; i++) {if ($(i+1) == "items:") it += $i; if ($(i+1) == "new,") n += $i}} END {print it + 0, n + 0}' "$OUT/miniflux-tidings-first.log")
t_failed=$(grep -c ' error: ' "$OUT/miniflux-tidings-first.log" || true)
t_rate=$(echo "$t_items / $t_first" | bc -l)
say "tidings: $t_items items ($t_new new) in $(printf %.1f "$t_first") s"

# Miniflux: the same subscriptions as OPML.
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo '<opml version="2.0"><head><title>bench</title></head><body>'
  grep -o 'url: "[^"]*"' "$DATA/tidings.yaml" | sed -E 's#url: "([^"]*)"#<outline type="rss" text="\1" xmlUrl="\1"/>#'
  echo '</body></opml>'
} >"$OUT/miniflux.opml"

# Done when every feed has been refreshed once (it has the ETag nginx gave
# it, set in the update that ends a refresh) or has failed.
t0=$(now)
api -X POST --data-binary @"$OUT/miniflux.opml" "$API/import" >/dev/null
api -X PUT "$API/feeds/refresh" >/dev/null
last=-1 since=$(now)
while :; do
  read -r done failed < <(psql_q "select count(*) filter (where etag_header <> ''), count(*) filter (where parsing_error_count > 0) from feeds" | tr '|' ' ')
  [ $((done + failed)) -ge "$SOURCES" ] && break
  if [ "$done" != "$last" ]; then
    last=$done since=$(now)
  elif [ "$(echo "$(now) - $since > 120" | bc -l)" = 1 ]; then
    say "Miniflux stalled at $done of $SOURCES feeds for 120 s; see $OUT/miniflux.log"
    break
  fi
  sleep 0.2
done
m_first=$(last_update "$t0")
m_new=$(psql_q 'select count(*) from entries')
m_failed=$failed
m_items=$((done * ITEMS)) # every feed has ITEMS items
m_rate=$(echo "$m_items / $m_first" | bc -l)
say "Miniflux: $m_new items in $(printf %.1f "$m_first") s"
LOAD_INGEST=$(load)

# 2. Polls answered 304, Tidings and Miniflux in turn. Miniflux refreshes
# only feeds whose next check is due, so each round first makes every feed
# due (not timed), then waits until every checked_at has moved past the
# start (it is taken when a feed's refresh starts and written when it ends).
t_polls=() m_polls=()
for _ in $(seq "$ROUNDS"); do
  t0=$(now)
  "$TIDINGS" fetch --config "$DATA/tidings.yaml" >"$OUT/miniflux-tidings-304.log"
  t1=$(now)
  t_polls+=("$(echo "$t1 - $t0" | bc -l)")

  psql_q "update feeds set next_check_at = now() - interval '1 minute'" >/dev/null
  t0=$(now)
  api -X PUT "$API/feeds/refresh" >/dev/null
  while [ "$(psql_q "select count(*) from feeds where checked_at >= to_timestamp($t0)")" -lt "$SOURCES" ]; do
    if [ "$(echo "$(now) - $t0 > 600" | bc -l)" = 1 ]; then
      say "Miniflux's poll did not finish in 600 s; see $OUT/miniflux.log"
      break
    fi
    sleep 0.1
  done
  m_polls+=("$(last_update "$t0")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
t_poll=$(median "${t_polls[@]}")
m_poll=$(median "${m_polls[@]}")
t_304=$(grep -c 'not modified' "$OUT/miniflux-tidings-304.log" || true)
m_entries_after=$(psql_q 'select count(*) from entries')
LOAD_END=$(load)

# Size of each store, for the record.
t_store=$(du -h "$DATA/tidings.db" | cut -f1)
m_store=$(psql_q "select pg_size_pretty(pg_database_size('miniflux'))")

echo
echo "## Tidings beside Miniflux $MINIFLUX_VERSION + PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}'): $SOURCES feeds × $ITEMS items from nginx on loopback"
echo "Miniflux: WORKER_POOL_SIZE=$MINIFLUX_WORKERS, PostgreSQL with Debian's defaults; tidings: fetch.concurrency 64."
echo "stored after the first ingest: tidings $t_new new items ($t_store), Miniflux $m_new entries ($m_store in PostgreSQL; $m_entries_after after the polls); failed feeds: tidings $t_failed, Miniflux $m_failed"
echo "load average (1, 5, 15 min): at the start $LOAD_START, after the ingests $LOAD_INGEST, at the end $LOAD_END"
printf '| %-40s | %12s | %12s | %8s | %s |\n' "what" "tidings" "Miniflux" "ratio" "target"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" "--------------" "----------" "--------"
ratio=$(echo "$t_rate / $m_rate" | bc -l)
printf '| %-40s | %10.0f/s | %10.0f/s | %7.1f× | %s |\n' "first ingest, items/s ($t_items / $m_items)" "$t_rate" "$m_rate" "$ratio" \
  "$(echo "$ratio >= 10" | bc -l | sed 's/1/met (≥ 10× Miniflux)/; s/^0$/NOT met (≥ 10× Miniflux)/')"
printf '| %-40s | %11.1fs | %11.1fs | %8s | |\n' "first ingest, wall" "$t_first" "$m_first" ""
ratio=$(echo "$m_poll / $t_poll" | bc -l)
# Issue 7's poll target (< 2 s) is for 2,000 feeds; scaled to this run's size.
poll_limit=$(echo "2 * $SOURCES / 2000" | bc -l)
poll_target="$(echo "$t_poll < $poll_limit" | bc -l | sed 's/1/met/; s/^0$/NOT met/') (< $(printf %.2g "$poll_limit") s)"
[ "$SOURCES" = 2000 ] || poll_target="$poll_target, scaled from < 2 s for 2,000 feeds"
printf '| %-40s | %11.2fs | %11.2fs | %7.1f× | %s |\n' "poll, all 304 ($t_304 of $SOURCES), median of $ROUNDS" "$t_poll" "$m_poll" "$ratio" \
  "$poll_target"
echo "ratio: how many times faster tidings is. Each poll round: tidings $(printf '%.2f ' "${t_polls[@]}")s; Miniflux $(printf '%.2f ' "${m_polls[@]}")s."
