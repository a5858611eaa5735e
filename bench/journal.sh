#!/usr/bin/env bash
# Embedded-journal benchmark: a 3-member Strata group beside a 3-member etcd cluster, same run.
# Usage: bench/journal.sh [seconds-per-load-case] [failover-trials]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v etcd >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq etcd-server >&2
fi
swift build -c release --product strata-journal-test-service >&2
swift build -c release --product strata-bench-journal >&2
exec .build/release/strata-bench-journal --seconds "${1:-5}" --trials "${2:-20}"
