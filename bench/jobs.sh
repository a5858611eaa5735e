#!/usr/bin/env bash
# Job-service benchmark: distributedLoad beside fs load and cat, tiny-file jobs/s, job-master
# fail-over mid-job, job-master memory per retained job (see bench/jobs/main.swift).
# Usage: bench/jobs.sh [GiB] [tiny files] [fail-over rounds] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
for product in strata strata-master strata-jobmaster strata-worker strata-bench-jobs; do
  swift build -c release --product "$product" >&2
done
exec stdbuf -oL .build/release/strata-bench-jobs --gib "${1:-1}" --tiny "${2:-10000}" --failovers "${3:-5}" ${4:-}
