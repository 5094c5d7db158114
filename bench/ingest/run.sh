#!/usr/bin/env bash
# Ingest figures, each beside its baseline from the same run:
#
#  1. corpus: parse + normalize + store of real feeds (testdata/corpus) and
#     of generated ones, against gofeed parsing the same bytes alone;
#  2. first ingest of SOURCES feeds × ITEMS items (default 2,000 × 250,
#     ~2.5 KB each) served by a local nginx: `tidings fetch` into an empty
#     store, in items/s, beside Miniflux's published figure;
#  3. a poll of the same feeds when every one answers 304: `tidings fetch`
#     again, three times, wall time, beside its baseline: the same
#     conditional GETs alone with net/http (bench/ingest/cond).
#
#   bench/ingest/run.sh            # SOURCES=200 ITEMS=250 for a quick look
#   FIRST=0 bench/ingest/run.sh    # keep the store of the last run: no first ingest
#
# The config points at this run's nginx port; the store remembers each
# feed's URL, so when the port differs from the store's, FIRST=0 first
# re-fetches every feed once (minutes, not timed) to learn its validators.
source "$(dirname "$0")/../lib.sh"

SOURCES=${SOURCES:-2000}
ITEMS=${ITEMS:-250}
need curl
need nginx nginx-light
build_tidings
say "machine: $(machine)"

# 1. Corpus ratio. The generated sample is the first 100 feeds of part 2.
# The port of the last run if it is free, so a kept store stays valid.
PORT=$(free_port "$(cat "$OUT/ingest-${SOURCES}x${ITEMS}/.port" 2>/dev/null || echo 18081)")
gen_workload "$SOURCES" "$ITEMS" "$PORT"
OLDPORT=$(cat "$DATA/.port" 2>/dev/null || true)
echo "$PORT" >"$DATA/.port"

echo "## Ingest vs gofeed alone (same bytes, same run)"
go run ./bench/ingest/corpus -rounds 5 testdata/corpus/wellformed
go run ./bench/ingest/corpus -rounds 3 -files 100 "$DATA/feeds"

# 2. First ingest from a local nginx.
start_nginx "$DATA" "$PORT"
wait_http "http://127.0.0.1:$PORT/feeds/s00000.xml"
if [ "${FIRST:-1}" = 0 ] && [ -f "$DATA/tidings.db" ]; then
  if [ "$OLDPORT" != "$PORT" ]; then
    say "port $PORT differs from the store's ($OLDPORT): re-fetching every feed once, not timed"
    "$TIDINGS" fetch --config "$DATA/tidings.yaml" >/dev/null
  fi
  first= new= failed=0 rate=
else
  rm -f "$DATA/tidings.db"
  load_first=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(now)
  "$TIDINGS" fetch --config "$DATA/tidings.yaml" >"$OUT/ingest-first.log"
  t1=$(now)
  first=$(echo "$t1 - $t0" | bc -l)
  new=$(awk '/ new, / {for (i = 1; i <= NF; i++) if ($(i+1) == "new,") n += $i} END {print n + 0}' "$OUT/ingest-first.log")
  failed=$(grep -c ' error: ' "$OUT/ingest-first.log" || true)
  rate=$(echo "$new / $first" | bc -l)
fi

# 3. Re-poll: nginx answers 304 to the stored ETag/Last-Modified. The
# baseline sends the same conditional GETs alone, just before.
load_poll=$(cut -d' ' -f1 /proc/loadavg)
bare=$(go run ./bench/ingest/cond -rounds 3 "$DATA/tidings.yaml")
polls=()
for _ in 1 2 3; do
  t0=$(now)
  "$TIDINGS" fetch --config "$DATA/tidings.yaml" >"$OUT/ingest-304.log"
  t1=$(now)
  polls+=("$(echo "$t1 - $t0" | bc -l)")
done
n304=$(grep -c 'not modified' "$OUT/ingest-304.log" || true)
poll=$(printf '%s\n' "${polls[@]}" | sort -n | sed -n 2p)

echo
echo "## First ingest and 304 poll of $SOURCES feeds × $ITEMS items from nginx on loopback"
echo "store: $(du -h "$DATA/tidings.db" | cut -f1); feeds: $(du -sh "$DATA/feeds" | cut -f1); failed feeds: $failed"
printf '| %-44s | %12s | %12s | %s |\n' "what" "tidings" "Miniflux*" "target"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "--------------" "--------------" "--------"
if [ -n "$first" ]; then
  printf '| %-44s | %10.0f/s | %10s/s | %s |\n' "first ingest, items/s ($new items)" "$rate" "436" \
    "$(echo "$rate >= 4400" | bc -l | sed 's/1/met (≥ 4,400)/; s/^0$/NOT met (≥ 4,400)/')"
  printf '| %-44s | %11.1fs | %12s | load average %s at its start |\n' "first ingest, wall" "$first" "1,146 s" "$load_first"
fi
printf '| %-44s | %11.2fs | %12s | %s |\n' "poll, all 304 ($n304 of $SOURCES), median of 3" "$poll" "9–16 s" \
  "$(echo "$poll < 2" | bc -l | sed 's/1/met (< 2 s)/; s/^0$/NOT met (< 2 s)/')"
printf '| %-44s | %11.2fs | %12s | %.1f× (tidings / bare) |\n' "  baseline: the same conditional GETs alone" "$bare" "" "$(echo "$poll / $bare" | bc -l)"
echo "load average $load_poll before the polls; the conditional GETs go $(awk '/^  concurrency:/ {print $2}' "$DATA/tidings.yaml") at once (fetch.concurrency = fetch.per_host in the generated config)"
echo "* Miniflux 2.3.5 + PostgreSQL 15: the figures given in issue 7 for this workload, not measured in this run."
