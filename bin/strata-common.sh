# Shared by bin/strata-start.sh and bin/strata-stop.sh (sourced, not run).
#
# STRATA_HOME      the installation (default: the folder above bin/)
# STRATA_CONF_DIR  strata-site.properties, masters, workers (default: $STRATA_HOME/conf)
# STRATA_BIN_DIR   the executables (default: $STRATA_HOME/.build/release)
STRATA_HOME=${STRATA_HOME:-$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)}
# An installed package says where its configuration and executables are (/etc/strata, /usr/bin).
if [ -f "$STRATA_HOME/install.env" ]; then source "$STRATA_HOME/install.env"; fi
STRATA_CONF_DIR=${STRATA_CONF_DIR:-$STRATA_HOME/conf}
STRATA_BIN_DIR=${STRATA_BIN_DIR:-$STRATA_HOME/.build/release}
export STRATA_HOME STRATA_CONF_DIR STRATA_BIN_DIR
SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

require_binaries() {
  for executable in strata "$@"; do
    [ -x "$STRATA_BIN_DIR/$executable" ] || die "$STRATA_BIN_DIR/$executable not found: build with 'swift build -c release' or set STRATA_BIN_DIR"
  done
}

# Prints the entries of conf/masters, conf/workers or conf/journal-nodes, one per line: host, then -D arguments.
hosts_entries() {
  local file=$STRATA_CONF_DIR/$1
  [ -f "$file" ] || die "$file not found (one host per line, optionally followed by strata.property=value words)"
  sed -e 's/#.*$//' -e 's/^[[:space:]]*//' -e '/^$/d' "$file" | while read -r host rest; do
    local args=""
    for word in $rest; do args="$args -D$word"; done
    echo "$host$args"
  done
}

is_local() {
  case "$1" in
    localhost|127.*|::1|0.0.0.0|"$(hostname)"|"$(hostname -f 2>/dev/null || true)") return 0 ;;
    *) return 1 ;;
  esac
}

# conf VALUE of a property for a process started with the given -D arguments.
conf_value() {
  local key=$1; shift
  "$STRATA_BIN_DIR/strata" getConf "$@" "$key"
}

# Runs a bin/ script action on a host: directly when it is this machine, else over ssh (the
# installation is expected at the same path there, as `strata copyDir` leaves it).
on_host() {
  local host=$1; shift
  if is_local "$host"; then
    "$SCRIPT_DIR/$@"
  else
    ssh -o BatchMode=yes -o ConnectTimeout=5 "$host" \
      "STRATA_CONF_DIR='$STRATA_CONF_DIR' STRATA_BIN_DIR='$STRATA_BIN_DIR' '$SCRIPT_DIR/$1' ${*:2}"
  fi
}

# The distinct hosts of a hosts file.
distinct_hosts() { hosts_entries "$1" | awk '{print $1}' | awk '!seen[$0]++'; }

# Entries of a hosts file for this machine; if none, one entry with no extra arguments.
local_entries() {
  local found=0
  while read -r host args; do
    if is_local "$host"; then echo "$host $args"; found=1; fi
  done < <(hosts_entries "$1" 2>/dev/null || true)
  [ "$found" = 1 ] || echo "localhost"
}

# True if a hosts file exists and lists at least one host (conf/journal-nodes is optional).
has_entries() { [ -f "$STRATA_CONF_DIR/$1" ] && [ -n "$(hosts_entries "$1" 2>/dev/null)" ]; }

# True if a hosts file lists this machine.
has_local_entries() {
  has_entries "$1" || return 1
  while read -r host _; do is_local "$host" && return 0; done < <(hosts_entries "$1")
  return 1
}

# True if the process exists and is not a zombie (a killed daemon whose parent does not reap it).
is_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat; stat=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -n "$stat" ] && [ "${stat:0:1}" != Z ]
}
