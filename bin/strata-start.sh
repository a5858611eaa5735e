#!/usr/bin/env bash
# Starts Strata processes, as Alluxio's alluxio-start.sh does.
#
# Usage: strata-start.sh [-h] [-w] ACTION [MOPT] [-f]
#   all [MOPT]      masters and job masters (conf/masters), journal nodes (conf/journal-nodes, if
#                   any), then workers (conf/workers, each also a job worker), over ssh or directly
#   local [MOPT]    every master, job master and worker listed for this machine (else one of each), here
#   masters         the masters of every host in conf/masters
#   workers [MOPT]  the workers of every host in conf/workers
#   master          this machine's masters (its lines in conf/masters, else one)
#   worker [MOPT]   this machine's workers (its lines in conf/workers, else one)
#   job_masters     the job masters of every host in conf/masters (they run beside the masters)
#   job_master      this machine's job masters (its lines in conf/masters, else one)
#   job_workers     a job-worker-only process (no block store) on every host in conf/workers
#   job_worker      this machine's job-worker-only processes (for job-service-only hosts)
#   journal_nodes   the journal nodes of every host in conf/journal-nodes (all starts them too)
#   journal_node    this machine's journal nodes (its lines in conf/journal-nodes, else one)
#   secondary_master  a secondary master here (UFS journal: replays it and writes its checkpoints)
# MOPT, for workers with a MEM tier: Mount (mount a ramfs there if none is; needs root),
#   SudoMount (the same through sudo), NoMount (use the directory as it is, e.g. under /dev/shm).
#   Default: NoMount.
# -f  format first: the masters', job masters' and journal nodes' journals and the workers' storage (everything in them is erased)
# -w  wait until the started processes exit
# -i BACKUP  restore from a backup (strata fsadmin backup): the masters and job masters get
#     -i BACKUP; on a formatted journal the first to lead restores it (with -f: format, then restore)
#
# Several masters on one host (a local HA cluster) each get a line in conf/masters with their
# own ports and directories, e.g.
#   localhost strata.master.rpc.port=19998 strata.master.web.port=19999 strata.master.embedded.journal.port=19200 strata.work.dir=/var/strata/m1
# (with job masters there too: strata.job.master.rpc.port=…, .web.port=…, .embedded.journal.port=…)
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/strata-common.sh"

usage() { sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

wait_flag=0; format=0; mopt=NoMount; action=""; backup=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage 0 ;;
    -i) [ $# -ge 2 ] || die "-i needs the backup file to restore from"; backup=$2; shift ;;
    -w) wait_flag=1 ;;
    -f) format=1 ;;
    Mount|SudoMount|NoMount) mopt=$1 ;;
    all|local|masters|workers|master|worker|job_masters|job_master|job_workers|job_worker|journal_nodes|journal_node|secondary_master) [ -z "$action" ] || die "one action at a time ($action, $1)"; action=$1 ;;
    *) echo "$(basename "$0"): unknown argument '$1'" >&2; usage 1 ;;
  esac
  shift
done
[ -n "$action" ] || usage 1
flags=""; [ "$format" = 1 ] && flags="$flags -f"
# Passed on to the masters and job masters (and to the scripts that start them on other hosts).
restore_args=()
if [ -n "$backup" ]; then flags="$flags -i $backup"; fi

# Starts one process in the background with its log and pid file; waits until it serves.
launch() {
  local executable=$1 name=$2; shift 2
  local logs; logs=$(conf_value strata.logs.dir "$@")
  mkdir -p "$logs"
  local pidfile=$logs/$name.pid
  if [ -f "$pidfile" ] && is_alive "$(cat "$pidfile")"; then
    echo "$name is already running (pid $(cat "$pidfile"))"
    return 0
  fi
  # The daemon keeps none of our descriptors beyond its log (a caller waiting for our output,
  # or an ssh session, would otherwise never see it end).
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec nohup "$STRATA_BIN_DIR/$executable" "$@" ${restore_args[@]+"${restore_args[@]}"} >>"$logs/$name.log" 2>&1 </dev/null
  ) &
  echo $! > "$pidfile"
  started_pids="$started_pids $!"
  echo "Started $name (pid $!), log $logs/$name.log"
}

# Mounts a ramfs on each MEM-tier directory of a worker, as MOPT says.
mount_ramdisk() {
  [ "$mopt" = NoMount ] && return 0
  local levels; levels=$(conf_value strata.worker.tieredstore.levels "$@")
  for level in $(seq 0 $((levels - 1))); do
    [ "$(conf_value "strata.worker.tieredstore.level$level.alias" "$@")" = MEM ] || continue
    local size; size=$(conf_value strata.worker.ramdisk.size --unit MB "$@")
    local dirs; dirs=$(conf_value "strata.worker.tieredstore.level$level.dirs.path" "$@")
    for dir in ${dirs//,/ }; do
      mountpoint -q "$dir" 2>/dev/null && continue
      local sudo=""; [ "$mopt" = SudoMount ] && sudo=sudo
      $sudo mkdir -p "$dir"
      $sudo mount -t ramfs -o "size=${size%%.*}m" ramfs "$dir" || die "cannot mount a ramfs on $dir ($mopt)"
      $sudo chmod a+w "$dir"
      echo "Mounted a ramfs on $dir"
    done
  done
}

# Formatting needs no cluster id here: strata.cluster.id if it is set, else each quorum's id is
# derived from its configured addresses, the same on every host and in every run.

start_masters_here() {
  require_binaries strata-master
  while read -r host args; do
    # shellcheck disable=SC2086
    set -- $args
    if [ "$format" = 1 ]; then "$STRATA_BIN_DIR/strata" formatJournal --job "$@" >/dev/null; fi
    [ -n "$backup" ] && restore_args=(-i "$backup")
    launch strata-master "master-$(conf_value strata.master.rpc.port "$@")" "$@"
    restore_args=()
  done < <(local_entries masters)
}

start_job_masters_here() {
  require_binaries strata-jobmaster
  while read -r host args; do
    # shellcheck disable=SC2086
    set -- $args
    if [ "$format" = 1 ]; then "$STRATA_BIN_DIR/strata" formatJournal --job-only "$@" >/dev/null; fi
    [ -n "$backup" ] && restore_args=(-i "$backup")
    launch strata-jobmaster "job-master-$(conf_value strata.job.master.rpc.port "$@")" "$@"
    restore_args=()
  done < <(local_entries masters)
}

# A worker process running the job-worker role alone (no block store), for job-service-only hosts.
start_job_workers_here() {
  require_binaries strata-worker
  while read -r host args; do
    # shellcheck disable=SC2086
    set -- $args
    launch strata-worker "job-worker-$(conf_value strata.job.worker.rpc.port "$@")" "$@" -Dstrata.worker.block.enabled=false
  done < <(local_entries workers)
}

start_workers_here() {
  require_binaries strata-worker
  while read -r host args; do
    # shellcheck disable=SC2086
    set -- $args
    mount_ramdisk "$@"
    [ "$format" = 1 ] && "$STRATA_BIN_DIR/strata" formatWorker "$@" >/dev/null
    launch strata-worker "worker-$(conf_value strata.worker.rpc.port "$@")" "$@"
  done < <(local_entries workers)
}

# Journal nodes: voting members of the masters' (and job masters') quorums that run no master.
start_journal_nodes_here() {
  require_binaries strata-journal-node
  while read -r host args; do
    # shellcheck disable=SC2086
    set -- $args
    if [ "$format" = 1 ]; then "$STRATA_BIN_DIR/strata" formatJournal --journal-node "$@" >/dev/null; fi
    launch strata-journal-node "journal-node-$(conf_value strata.journal.node.web.port "$@")" "$@"
  done < <(local_entries journal-nodes)
}

start_secondary_master_here() {
  require_binaries strata-secondary-master
  launch strata-secondary-master "secondary-master-$(conf_value strata.secondary.master.rpc.port)"
}

started_pids=""
case "$action" in
  secondary_master) start_secondary_master_here ;;
  master) start_masters_here ;;
  worker) start_workers_here ;;
  job_master) start_job_masters_here ;;
  job_worker) start_job_workers_here ;;
  journal_node) start_journal_nodes_here ;;
  journal_nodes) for host in $(distinct_hosts journal-nodes); do on_host "$host" strata-start.sh journal_node $flags; done ;;
  masters|all)
    # Every master's (and job master's) journal formatted at once (other hosts over ssh).
    if [ "$format" = 1 ]; then "$STRATA_BIN_DIR/strata" formatMasters; fi
    # shellcheck disable=SC2086
    for host in $(distinct_hosts masters); do on_host "$host" strata-start.sh master ${backup:+-i "$backup"}; done
    if [ "$action" = all ] && has_entries journal-nodes; then
      echo "Starting the journal nodes of conf/journal-nodes"
      for host in $(distinct_hosts journal-nodes); do on_host "$host" strata-start.sh journal_node; done
    fi
    if [ "$action" = all ]; then
      echo "Starting the job service: a job master beside each master; every worker also runs the job-worker role"
      for host in $(distinct_hosts masters); do on_host "$host" strata-start.sh job_master ${backup:+-i "$backup"}; done
      for host in $(distinct_hosts workers); do on_host "$host" strata-start.sh worker "$mopt" $flags; done
    fi ;;
  workers) for host in $(distinct_hosts workers); do on_host "$host" strata-start.sh worker "$mopt" $flags; done ;;
  job_masters) for host in $(distinct_hosts masters); do on_host "$host" strata-start.sh job_master $flags; done ;;
  job_workers) for host in $(distinct_hosts workers); do on_host "$host" strata-start.sh job_worker; done ;;
  local)
    "$SCRIPT_DIR/strata-stop.sh" local >/dev/null 2>&1 || true
    start_masters_here
    if has_local_entries journal-nodes; then
      echo "Starting this machine's journal nodes (conf/journal-nodes)"
      start_journal_nodes_here
    fi
    echo "Starting the job service here: job masters beside the masters; the workers also run the job-worker role"
    start_job_masters_here
    start_workers_here ;;
esac

# Wait until the masters (and job masters) serve (a leader is elected), so that the next
# command can use them.
case "$action" in
  masters|master|all|local)
    for _ in $(seq 1 300); do
      "$STRATA_BIN_DIR/strata" fs leader >/dev/null 2>&1 && break
      sleep 0.1
    done
    leader=$("$STRATA_BIN_DIR/strata" fs leader 2>/dev/null | head -1) || die "no master leads after 30s; see the logs under $(conf_value strata.logs.dir)"
    echo "Leading master: $leader" ;;
esac
case "$action" in
  job_masters|job_master|all|local)
    for _ in $(seq 1 300); do
      "$STRATA_BIN_DIR/strata" job leader -Dstrata.user.rpc.retry.max.duration=1s >/dev/null 2>&1 && break
      sleep 0.1
    done
    leader=$("$STRATA_BIN_DIR/strata" job leader -Dstrata.user.rpc.retry.max.duration=1s 2>/dev/null | head -1) \
      || die "no job master leads after 30s; see the logs under $(conf_value strata.logs.dir)"
    echo "Leading job master: $leader" ;;
esac
if [ "$wait_flag" = 1 ] && [ -n "$started_pids" ]; then
  # shellcheck disable=SC2086
  wait $started_pids
fi
