#!/usr/bin/env bash
# Export benchmark: builds holdfast and the driver, exports ~1 GB of
# synthetic SIP recordings and prints export ÷ cp -r, export ÷ compute
# limit, verify ÷ compute limit, hashing throughput, API latency during an
# export, and the server's peak RSS for 1,000 and 10,000 recordings.
# All reads are warm-cache. See docs/benchmarks.md.
#
# Environment:
#   BENCH_BYTES   total bytes of recordings (default 1000000000)
#   BENCH_FILES   number of recordings (default 400)
#   BENCH_REPS    rounds of each timed measurement, median reported (default 3)
#   BENCH_MEM     recording counts for the memory benchmark (default 1000,10000; "" skips)
#   BENCH_OUT     also write the results as JSON to this file
#   BENCH_TMP     parent of the scratch directory (default $TMPDIR or /tmp)
#   BENCH_LOAD    when set, also run the load benchmark (bench/load) on SQLite,
#                 and on PostgreSQL too when BENCH_LOAD_PG is a database URL
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/holdfast-bench.XXXXXX")"
driver_pid=""
cleanup() {
	if [[ -n "$driver_pid" ]] && kill -0 "$driver_pid" 2>/dev/null; then
		kill -TERM "$driver_pid" 2>/dev/null || true
		wait "$driver_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$root"
echo "building into $work/bin ..." >&2
go build -o "$work/bin/holdfast" ./cmd/holdfast
go build -o "$work/bin/exportbench" ./bench/exportbench

"$work/bin/exportbench" \
	-bin "$work/bin/holdfast" \
	-work "$work" \
	-bytes "${BENCH_BYTES:-1000000000}" \
	-files "${BENCH_FILES:-400}" \
	-reps "${BENCH_REPS:-3}" \
	-mem "${BENCH_MEM-1000,10000}" \
	${BENCH_OUT:+-out "$BENCH_OUT"} &
driver_pid=$!
wait "$driver_pid"

if [[ -n "${BENCH_LOAD:-}" ]]; then
	go build -o "$work/bin/load" ./bench/load
	"$work/bin/load" -bin "$work/bin/holdfast"
	if [[ -n "${BENCH_LOAD_PG:-}" ]]; then
		"$work/bin/load" -bin "$work/bin/holdfast" -database "$BENCH_LOAD_PG"
	fi
fi
