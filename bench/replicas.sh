#!/usr/bin/env bash
# Replica benchmark: two `holdfast serve` processes on one PostgreSQL and
# one S3 bucket; measures the delay from a hold sent to replica A to the
# 409 refusal of a delete on replica B. See docs/benchmarks.md.
#
# Needs PostgreSQL (BENCH_DATABASE, default the local test database) and an
# S3-compatible server (BENCH_S3, default http://127.0.0.1:7070, started by
# .ci/run) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set.
#   BENCH_ROUNDS  hold/delete rounds (default 500)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/holdfast-replicas.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/holdfast" ./cmd/holdfast
go build -o "$work/replicabench" ./bench/replicabench
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-holdfast}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-holdfast-secret}" AWS_REGION="${AWS_REGION:-us-east-1}"
"$work/replicabench" -bin "$work/holdfast" -work "$work" \
	-database "${BENCH_DATABASE:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" \
	-s3 "${BENCH_S3:-http://127.0.0.1:7070}" -rounds "${BENCH_ROUNDS:-500}"
