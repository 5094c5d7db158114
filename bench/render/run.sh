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
#   ROUNDS=200 PASSES=2 BEFORE=HEAD~3 bench/render/run.sh   # beside the build at HEAD~3
source "$(dirname "$0")/../lib.sh"

ROUNDS=${ROUNDS:-10}
PASSES=${PASSES:-2}
need bc
build_tidings
say "machine: $(machine)"
million_store

# The benchmark binaries: this checkout's, and with BEFORE=REV the same
# benchmark built at REV, run in turn against the same store (PASSES times
# each, ROUNDS renders per topic each time) so that both see the same
# minutes of a shared machine.
go test -c -o "$OUT/bin/render.test" ./cmd/tidings
BINS=(now)
if [ -n "${BEFORE:-}" ]; then
  before_src "$BEFORE"
  (cd "$BSRC" && go test -c -o "$OUT/bin/render-before.test" ./cmd/tidings)
  BINS=(now before)
fi
bin() { [ "$1" = now ] && echo "$OUT/bin/render.test" || echo "$OUT/bin/render-before.test"; }

: >"$OUT/render.txt"
loads=()
for pass in $(seq "$PASSES"); do
  for b in "${BINS[@]}"; do
    # Run from cmd/tidings, as go test would: the benchmark reads testdata there.
    (cd cmd/tidings && TIDINGS_BENCH_CONFIG="$MILLION/tidings.yaml" "$(bin "$b")" -test.run '^$' \
      -test.bench 'RenderAfterChange' -test.benchtime "${ROUNDS}x" -test.timeout 0) |
      grep '^Benchmark' | sed "s/^/$b $pass /" >>"$OUT/render.txt"
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  done
done

echo "## Render after a change (cache miss), $(awk '{print $2}' "$MILLION/.done") items in the store; $ROUNDS renders per topic, $PASSES passes${BEFORE:+, beside tidings at $BREV}"
echo "load average (1 min) after each run: ${loads[*]}"
# Each row: a topic, one build, one pass; wall time, then the CPU time of
# the thread that rendered (the part that does not wait for a core).
echo "| topic | build | pass | p50 | p99 | target p99 < 10 ms | CPU of the render thread: p50 | p99 |"
echo "|---|---|---|---|---|---|---|---|"
awk '{b = $1; pass = $2; t = $3; sub(/^BenchmarkRenderAfterChange\//, "", t); sub(/-[0-9]+$/, "", t)
      delete m; for (i = 6; i < NF; i++) m[$(i + 1)] = $i
      printf "| %s | %s | %s | %.1f ms | %.1f ms | %s | %.1f ms | %.1f ms |\n", t, b, pass, m["p50-ms"], m["p99-ms"], (m["p99-ms"] < 10 ? "met" : "NOT met"), m["cpu-p50-ms"], m["cpu-p99-ms"]}' "$OUT/render.txt" |
  sort -t'|' -k2,2 -k3,3r -k4,4n
