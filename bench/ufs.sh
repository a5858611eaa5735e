#!/usr/bin/env bash
# The UFS journal beside the embedded one: the master stress benchmark's figures and fail-over
# time (kill -9 of the leader -> next acknowledged create) on each, three masters on loopback,
# fsync on; in UFS mode a ZooKeeper server from Debian's package elects the leader.
# Usage: bench/ufs.sh [threads] [seconds] [failovers] [session-timeout-ms]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup >&2
swift build -c release --product strata-master >&2
swift build -c release --product strata >&2
swift build -c release --product strata-bench-master >&2
threads=${1:-16} seconds=${2:-5} failovers=${3:-5} session=${4:-3000}
for journal in EMBEDDED UFS; do
  stdbuf -oL .build/release/strata-bench-master --journal "$journal" --threads "$threads" --duration "$seconds" \
    --files 0 --failovers "$failovers" --session-timeout "$session"
  echo
done
