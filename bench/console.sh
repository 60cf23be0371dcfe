#!/usr/bin/env bash
# Console benchmark: p50/p95 of every console page with 1,000 and 100,000
# recordings (filled through the store code, no HTTP), served by a real
# `holdfast serve`. See docs/benchmarks.md ("Console pages").
#
# Environment:
#   BENCH_SIZES  recording counts to compare (default 1000,100000)
#   BENCH_REQS   timed requests per page (default 200)
#   BENCH_TMP    parent of the scratch directory (default $TMPDIR or /tmp)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/holdfast-consolebench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/bin/holdfast" ./cmd/holdfast
go build -o "$work/bin/consolebench" ./bench/consolebench
"$work/bin/consolebench" -bin "$work/bin/holdfast" -work "$work" -sizes "${BENCH_SIZES:-1000,100000}" -reqs "${BENCH_REQS:-200}"
