#!/usr/bin/env bash
# Strata's masters beside ZooKeeper and etcd on this machine, same run, same load shapes (create,
# linearizable point read, list of 100) at 1 and 64 outstanding, with the CPU split and steal of
# every case, repeated and summarised as medians with ratios; then fail-over after kill -9 and
# SIGSTOP of the leader on each (bench/compare/main.swift says what is measured).
# Usage: bench/compare.sh [runs] [seconds-per-case]
set -euo pipefail
cd "$(dirname "$0")/.."
# The peers, from Debian's packages.
missing=()
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
command -v etcd >/dev/null || missing+=(etcd-server)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
for product in strata-master strata strata-bench-compare; do
  swift build -c release --product "$product" 2>&1 | grep -E "error" >&2 || true
done
exec stdbuf -oL .build/release/strata-bench-compare --runs "${1:-3}" --seconds "${2:-5}"
