#!/usr/bin/env bash
# Render after a change (a cache miss) with 1,000,000 items in the store:
# BenchmarkRenderAfterChange (cmd/tidings) against the store that
# million_store (bench/lib.sh) builds. Each round stores one new item, which
# drops the cached feeds, then renders a topic as the first request after a
# poll would; the table gives the median and 99th percentile of ROUNDS
# (default 10; the p99 of 10 is the slowest) renders per topic: `all`, a query (`mexico`) and a topic of
# one source out of 10,000 (`one`). The last columns are the CPU time of the
# thread that rendered (garbage collection on other threads not counted):
# on a busy machine the wall time also counts the waits for a core.
#
#   bench/render/run.sh
source "$(dirname "$0")/../lib.sh"

ROUNDS=${ROUNDS:-10}
need bc
build_tidings
say "machine: $(machine)"
million_store

echo "## Render after a change (cache miss), $(awk '{print $2}' "$MILLION/.done") items in the store; $ROUNDS renders per topic"
TIDINGS_BENCH_CONFIG="$MILLION/tidings.yaml" go test ./cmd/tidings -run '^$' -bench 'RenderAfterChange' \
  -benchtime "${ROUNDS}x" -timeout 0 | tee "$OUT/render.txt" | grep '^Benchmark' |
  awk 'BEGIN {print "| topic | p50 | p99 | target p99 < 10 ms | CPU of the render thread: p50 | p99 |"; print "|---|---|---|---|---|---|"}
       {t = $1; sub(/^BenchmarkRenderAfterChange\//, "", t); sub(/-[0-9]+$/, "", t)
        for (i = 4; i < NF; i++) m[$(i + 1)] = $i
        printf "| %s | %.1f ms | %.1f ms | %s | %.1f ms | %.1f ms |\n", t, m["p50-ms"], m["p99-ms"], (m["p99-ms"] < 10 ? "met" : "NOT met"), m["cpu-p50-ms"], m["cpu-p99-ms"]}'
