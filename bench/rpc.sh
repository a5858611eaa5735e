#!/usr/bin/env bash
# RPC round trips per second on loopback (1 and 64 callers) beside a raw TCP echo floor.
# Usage: bench/rpc.sh [seconds-per-case]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product strata-bench-rpc >&2
exec .build/release/strata-bench-rpc "${1:-3}"
