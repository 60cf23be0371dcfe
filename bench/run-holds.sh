#!/usr/bin/env bash
# Holds and listings at a million recordings: builds holdfast and the
# driver, seeds 1,000,001 recordings with set-based SQL on SQLite and on
# PostgreSQL, and prints hold-by-filter ÷ a bare INSERT … SELECT of the
# same rows, the hold's response and audit entry sizes, the page a million
# rows deep ÷ the first page, and database bytes per recording.
# See docs/benchmarks.md.
#
# Environment:
#   HOLDBENCH_N         recordings (default 1000001)
#   HOLDBENCH_REPS      rounds of each timed measurement, median reported (default 3)
#   HOLDBENCH_BACKENDS  sqlite,postgres (default both)
#   HOLDBENCH_PG        PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
#   HOLDBENCH_OUT       also write the results as JSON to this file
#   BENCH_TMP           parent of the scratch directory (default $TMPDIR or /tmp)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/holdfast-holdbench.XXXXXX")"
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
go build -o "$work/bin/holdbench" ./bench/holdbench

"$work/bin/holdbench" \
	-bin "$work/bin/holdfast" \
	-work "$work" \
	-n "${HOLDBENCH_N:-1000001}" \
	-reps "${HOLDBENCH_REPS:-3}" \
	-backends "${HOLDBENCH_BACKENDS:-sqlite,postgres}" \
	-pg "${HOLDBENCH_PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" \
	${HOLDBENCH_OUT:+-out "$HOLDBENCH_OUT"} &
driver_pid=$!
wait "$driver_pid"
