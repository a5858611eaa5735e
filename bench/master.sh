#!/usr/bin/env bash
# Master stress benchmark (CreateFile, GetFileStatus, ListDir, RenameFile, DeleteFile) against a
# 3-master HA cluster, then memory per file and restart-to-serving time.
# Usage: bench/master.sh [threads] [seconds] [files] [--keep]
#        bench/master.sh --scale 1000000,10000000 [--keep]
#   (namespaces of that many files, made as a backup and restored: leader RSS per file,
#    restart to serving, fail-over; 10M takes about 4 minutes and 3 GB per master while restoring)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product strata-master >&2
swift build -c release --product strata-jobmaster >&2
swift build -c release --product strata >&2
swift build -c release --product strata-bench-master >&2
if [ "${1:-}" = "--scale" ]; then exec stdbuf -oL .build/release/strata-bench-master "$@"; fi
exec stdbuf -oL .build/release/strata-bench-master --threads "${1:-16}" --duration "${2:-5}" --files "${3:-1000000}" ${4:-}
