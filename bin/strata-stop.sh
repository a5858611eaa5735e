#!/usr/bin/env bash
# Stops Strata processes started by strata-start.sh (SIGTERM; SIGKILL after 20s).
#
# Usage: strata-stop.sh [-h] ACTION
#   all      every master, job master, journal node, worker and job worker of conf/masters, conf/journal-nodes and conf/workers (over ssh or directly)
#   local    this machine's masters, job masters, journal nodes, workers and job workers
#   masters  the masters of every host in conf/masters
#   workers  the workers of every host in conf/workers
#   master   this machine's masters
#   worker   this machine's workers
#   job_masters, job_master    the job masters of every host in conf/masters, or of this machine
#   job_workers, job_worker    the job-worker-only processes of every host in conf/workers, or of this machine
#   journal_nodes, journal_node  the journal nodes of every host in conf/journal-nodes, or of this machine
#   secondary_master  this machine's secondary master
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/strata-common.sh"

[ $# -eq 1 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }

# Stops the process of pid file LOGS/KIND-PORT.pid: SIGTERM, SIGKILL after 20 s.
stop_pidfile() {
  local kind=$1 port=$2 logs=$3
  local pidfile=$logs/$kind-$port.pid
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  if is_alive "$pid"; then
    kill -TERM "$pid"
    for _ in $(seq 1 200); do is_alive "$pid" || break; sleep 0.1; done
    if is_alive "$pid"; then kill -KILL "$pid"; echo "Killed $kind-$port (pid $pid) after 20s"; else echo "Stopped $kind-$port (pid $pid)"; fi
  fi
  rm -f "$pidfile"
}

stop_named() {
  local kind=$1 file=$2 portkey=$3
  while read -r host args; do
    # shellcheck disable=SC2086
    set -- $args
    stop_pidfile "$kind" "$(conf_value "$portkey" "$@")" "$(conf_value strata.logs.dir "$@")"
  done < <(local_entries "$file")
}

require_binaries
case "$1" in
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' ;;
  master) stop_named master masters strata.master.rpc.port ;;
  worker) stop_named worker workers strata.worker.rpc.port ;;
  job_master) stop_named job-master masters strata.job.master.rpc.port ;;
  job_worker) stop_named job-worker workers strata.job.worker.rpc.port ;;
  journal_node) if has_entries journal-nodes; then stop_named journal-node journal-nodes strata.journal.node.web.port; fi ;;
  journal_nodes) for host in $(distinct_hosts journal-nodes); do on_host "$host" strata-stop.sh journal_node; done ;;
  secondary_master) stop_pidfile secondary-master "$(conf_value strata.secondary.master.rpc.port)" "$(conf_value strata.logs.dir)" ;;
  local)
    stop_named job-worker workers strata.job.worker.rpc.port; stop_named worker workers strata.worker.rpc.port
    stop_named job-master masters strata.job.master.rpc.port; stop_named master masters strata.master.rpc.port
    if has_local_entries journal-nodes; then stop_named journal-node journal-nodes strata.journal.node.web.port; fi ;;
  masters) for host in $(distinct_hosts masters); do on_host "$host" strata-stop.sh master; done ;;
  workers) for host in $(distinct_hosts workers); do on_host "$host" strata-stop.sh worker; done ;;
  job_masters) for host in $(distinct_hosts masters); do on_host "$host" strata-stop.sh job_master; done ;;
  job_workers) for host in $(distinct_hosts workers); do on_host "$host" strata-stop.sh job_worker; done ;;
  all)
    echo "Stopping the job service too: job workers and job masters"
    for host in $(distinct_hosts workers); do on_host "$host" strata-stop.sh job_worker; on_host "$host" strata-stop.sh worker; done
    for host in $(distinct_hosts masters); do on_host "$host" strata-stop.sh job_master; on_host "$host" strata-stop.sh master; done
    if has_entries journal-nodes; then
      echo "Stopping the journal nodes of conf/journal-nodes"
      for host in $(distinct_hosts journal-nodes); do on_host "$host" strata-stop.sh journal_node; done
    fi ;;
  *) die "unknown action '$1' (all, local, masters, workers, master, worker, job_masters, job_master, job_workers, job_worker, journal_nodes, journal_node, secondary_master)" ;;
esac
