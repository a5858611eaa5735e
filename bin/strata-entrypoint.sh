#!/usr/bin/env bash
# Runs one Strata role in the foreground: the container image's entrypoint (as Alluxio's), and
# usable on any host. Journals are formatted on first start and never again.
#
# Usage: strata-entrypoint COMMAND [-Dstrata.property=value ...]
#   master          a master and a job master (the job service beside it), supervised together
#   master-only     a master
#   job-master      a job master
#   worker          a worker with the job-worker role (block store and job tasks)
#   worker-only     a worker without the job-worker role
#   job-worker      a job worker alone (no block store): job-service-only deployments
#   journal-node    a journal node (quorums in strata.journal.node.domains)
#   secondary-master  a secondary master (UFS journal: replays it and writes checkpoints)
#   format          format this host's master and job-master journals (everything in them is erased)
#   health          exit 0 if the role this container runs serves (GET /health on its web ports):
#                   the image's HEALTHCHECK, right for every role without configuration
#   strata ARGS...  the CLI (strata fs ls /, strata fsadmin report, ...); any other program is run as it is
#
# Properties come from /etc/strata/strata-site.properties ($STRATA_CONF_DIR), from STRATA_*
# environment variables (strata.master.hostname is STRATA_MASTER_HOSTNAME) and from -D options.
# One process is exec'ed, so signals reach it; `master` forwards SIGTERM/SIGINT to both, and
# when either ends by itself stops the other and exits non-zero (a restart policy brings both back).
set -euo pipefail

bin=${STRATA_BIN_DIR:-$(dirname "$(readlink -f "$0")")}
[ -x "$bin/strata-master" ] || bin=/usr/bin
export STRATA_CONF_DIR=${STRATA_CONF_DIR:-/etc/strata}

usage() { sed -n '/^# Usage/,/^set -euo/p' "$(readlink -f "$0")" | sed -n 's/^# \{0,1\}//p'; }
say() { echo "strata-entrypoint: $*" >&2; }

# The role this container runs and its options, for `health` (written at start).
role_file=${STRATA_RUN_DIR:-/tmp}/strata-entrypoint.role

# Asks each web port of the recorded role for /health; exits 0 only if all answer 200.
check_health() {
  [ -f "$role_file" ] || { echo "no role started yet"; exit 1; }
  local role; mapfile -t role < "$role_file"
  local keys
  case "${role[0]}" in
    master) keys="strata.master.web.port strata.job.master.web.port" ;;
    master-only) keys="strata.master.web.port" ;;
    job-master) keys="strata.job.master.web.port" ;;
    worker|worker-only|job-worker) keys="strata.worker.web.port" ;;
    journal-node) keys="strata.journal.node.web.port" ;;
    secondary-master) keys="strata.secondary.master.web.port" ;;
    *) echo "role ${role[0]} has no web port"; exit 1 ;;
  esac
  for key in $keys; do
    local port; port=$("$bin/strata" getConf "${role[@]:1}" "$key") || exit 1
    curl -fsS --max-time 2 "http://127.0.0.1:$port/health" >/dev/null || { echo "$key $port does not answer /health"; exit 1; }
  done
  exit 0
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
command=$1; shift
# As PID 1, bash ignores SIGTERM unless it traps it: stop at once if told to before a process runs.
trap 'say "stopped before the process started"; exit 143' TERM INT
case "$command" in
  master|master-only|job-master|worker|worker-only|job-worker|journal-node|secondary-master|format)
    # The processes take nothing but -D options.
    for argument in "$@"; do
      case "$argument" in
        -D*=*) ;;
        *) say "'$argument' is not a -Dstrata.property=value option (command $command)"; exit 2 ;;
      esac
    done
    # One word a line, so that a value with spaces stays one option.
    if [ "$command" != format ]; then
      printf '%s\n' "$command" "$@" 2>/dev/null > "$role_file" || say "cannot write $role_file (STRATA_RUN_DIR): the health check will fail"
    fi ;;
  health) check_health ;;
  -h|--help|help) usage; exit 0 ;;
  strata) exec "$bin/strata" "$@" ;;
  *)
    command -v "$command" >/dev/null || { say "unknown command '$command'"; usage >&2; exit 2; }
    exec "$command" "$@" ;;
esac

# Formats the journals given by the formatJournal flags if they hold nothing yet.
format_once() {
  "$bin/strata" formatJournal -s "$@" || { say "the journal could not be prepared (above); not starting"; exit 1; }
}

# Runs two processes. A signal is passed to both, and the exit status is the first one's. When
# either ends by itself, the other is stopped and the exit status is non-zero even if it ended
# with 0, so that a restart policy (on-failure) brings the pair back.
supervise() {
  local first_name=$1 second_name=$2; shift 2
  local signalled=0
  "$bin/$first_name" "$@" &
  local first=$!
  "$bin/$second_name" "$@" &
  local second=$!
  trap 'signalled=1; kill -TERM "$first" "$second" 2>/dev/null || true' TERM INT
  local status=0
  wait -n "$first" "$second" || status=$?
  if [ "$signalled" = 1 ]; then
    # Both were told to stop: their own statuses say whether they stopped cleanly.
    local first_status=0 second_status=0
    wait "$first" || first_status=$?
    wait "$second" || second_status=$?
    [ "$first_status" -ne 0 ] && exit "$first_status"
    exit "$second_status"
  fi
  say "a process ended by itself (status $status); stopping the other"
  kill -TERM "$first" "$second" 2>/dev/null || true
  wait "$first" 2>/dev/null || true
  wait "$second" 2>/dev/null || true
  [ "$status" -ne 0 ] || status=1
  exit "$status"
}

case "$command" in
  master)
    format_once --job "$@"
    supervise strata-master strata-jobmaster "$@" ;;
  master-only)
    format_once "$@"
    exec "$bin/strata-master" "$@" ;;
  job-master)
    format_once --job-only "$@"
    exec "$bin/strata-jobmaster" "$@" ;;
  worker)
    exec "$bin/strata-worker" "$@" ;;
  worker-only)
    exec "$bin/strata-worker" -Dstrata.job.worker.enabled=false "$@" ;;
  job-worker)
    exec "$bin/strata-worker" -Dstrata.worker.block.enabled=false "$@" ;;
  journal-node)
    format_once --journal-node "$@"
    exec "$bin/strata-journal-node" "$@" ;;
  secondary-master)
    exec "$bin/strata-secondary-master" "$@" ;;
  format)
    exec "$bin/strata" format "$@" ;;
esac
