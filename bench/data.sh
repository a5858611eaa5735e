#!/usr/bin/env bash
# Data-path benchmark: one master and one worker (MEM tier on tmpfs) on loopback.
#   - cached read of a file (default 1 GiB): remote (streamed over loopback) and short-circuit;
#   - write throughput for MUST_CACHE and CACHE_THROUGH (source file on tmpfs);
#   - beside, in the same run: iperf3 over loopback, dd reading the same bytes from the page
#     cache, dd writing them into tmpfs and into the under-storage folder (with fsync);
#   - the ratios issue #17 sets targets for.
# Usage: bench/data.sh [size-MiB] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${2:-3}
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v iperf3 >/dev/null; then
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq iperf3 >&2
fi
for product in strata strata-master strata-worker; do swift build -c release --product "$product" >&2; done
bin=$PWD/.build/release

work=$(mktemp -d /tmp/strata-bench-data.XXXXXX)
shm=$(mktemp -d /dev/shm/strata-bench-data.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" "$shm"
}
trap cleanup EXIT

mkdir -p "$work/conf" "$work/ufs"
cat > "$work/conf/strata-site.properties" <<EOF
strata.home=$work
strata.master.hostname=127.0.0.1
strata.master.bind.host=127.0.0.1
strata.master.rpc.port=39998
strata.master.web.port=39999
strata.master.embedded.journal.port=39200
strata.master.embedded.journal.addresses=127.0.0.1:39200
strata.master.mount.table.root.ufs=$work/ufs
strata.worker.hostname=127.0.0.1
strata.worker.bind.host=127.0.0.1
strata.worker.rpc.port=39899
strata.worker.web.port=39300
strata.job.worker.rpc.port=39301
strata.worker.tieredstore.levels=1
strata.worker.tieredstore.level0.alias=MEM
strata.worker.tieredstore.level0.dirs.path=$shm
strata.worker.tieredstore.level0.dirs.quota=$((size_mib * 3 + 512))MB
strata.user.block.size.bytes.default=64MB
EOF
export STRATA_CONF_DIR=$work/conf
"$bin/strata" format >/dev/null
"$bin/strata-master" >"$work/master.log" 2>&1 & pids+=($!)
"$bin/strata-worker" >"$work/worker.log" 2>&1 & pids+=($!)
for _ in $(seq 1 200); do
  "$bin/strata" fs leader >/dev/null 2>&1 && break
  sleep 0.1
done

seconds() { date +%s.%N; }
rate() { awk -v bytes="$1" -v start="$2" -v end="$3" 'BEGIN { printf "%.0f", bytes / (end - start) / 1048576 }'; }
bytes=$((size_mib * 1048576))
source=$shm/source.bin
head -c "$bytes" /dev/urandom > "$source"

echo "Strata data path, ${size_mib} MiB file, best of $runs runs (MiB/s)"
best() { sort -n | tail -1; }
declare -A figure
report() { figure[$1]=$3; printf "  %-5s %-14s %8s\n" "$2" "$1" "$3"; }

# Writes.
for type in MUST_CACHE CACHE_THROUGH; do
  value=$(for run in $(seq 1 "$runs"); do
    "$bin/strata" fs rm "/w-$type" >/dev/null 2>&1 || true
    rm -f "$work/ufs/w-$type"
    sync
    start=$(seconds)
    "$bin/strata" fs copyFromLocal --writeType "$type" "$source" "/w-$type" >/dev/null 2>&1
    end=$(seconds)
    rate "$bytes" "$start" "$end"; echo
  done | best)
  report "$type" write "$value"
done

# Cached reads (the MUST_CACHE file), remote and short-circuit.
for mode in remote short-circuit; do
  flag=false; [ "$mode" = short-circuit ] && flag=true
  value=$(for run in $(seq 1 "$runs"); do
    start=$(seconds)
    "$bin/strata" fs cat "-Dstrata.user.short.circuit.enabled=$flag" /w-MUST_CACHE > /dev/null
    end=$(seconds)
    rate "$bytes" "$start" "$end"; echo
  done | best)
  report "$mode" read "$value"
done

# Peers in the same run: dd from the page cache (tmpfs), dd into tmpfs (where the MEM tier
# lives) and into the under-storage folder (with fsync, as CACHE_THROUGH commits), iperf3 over
# loopback.
dd_rate() { # input output [dd options]: the output is a file of this run's own, made afresh each time
  for run in $(seq 1 "$runs"); do
    [ "$2" = /dev/null ] || rm -f "$2"
    start=$(seconds)
    dd if="$1" of="$2" bs=1M status=none ${3:-}
    end=$(seconds)
    rate "$bytes" "$start" "$end"; echo
  done | best
}
report page-cache dd "$(dd_rate "$source" /dev/null)"
report into-tmpfs dd "$(dd_rate "$source" "$shm/dd-copy.bin")"
rm -f "$shm/dd-copy.bin"
report into-ufs dd "$(dd_rate "$source" "$work/ufs/dd-copy.bin" conv=fsync)"
rm -f "$work/ufs/dd-copy.bin"
iperf3 -s -p 39501 -1 >/dev/null 2>&1 & pids+=($!)
sleep 0.5
report loopback iperf3 "$(iperf3 -c 127.0.0.1 -p 39501 -n "${size_mib}M" -J 2>/dev/null \
  | awk -F':' '/"bits_per_second"/ { last = $2 } END { gsub(/[ \t,]/, "", last); printf "%.0f", last / 8 / 1048576 }')"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
echo "ratios (issue #17's targets in brackets):"
echo "  remote read ÷ iperf3            $(ratio "${figure[remote]}" "${figure[loopback]}")  [≥ 0.8]"
echo "  short-circuit read ÷ dd read    $(ratio "${figure[short-circuit]}" "${figure[page-cache]}")  [≥ 0.9]"
echo "  MUST_CACHE ÷ dd into tmpfs      $(ratio "${figure[MUST_CACHE]}" "${figure[into-tmpfs]}")  [≥ 0.7]"
echo "  CACHE_THROUGH ÷ dd into UFS     $(ratio "${figure[CACHE_THROUGH]}" "${figure[into-ufs]}")  [≥ 0.5]"
