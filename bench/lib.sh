# Helpers shared by the benchmark scripts (sourced): logging, loopback ports, stopping the
# processes a script started. A script that sources this sets `pids` (the processes to stop)
# and `work` (its temporary directory) and calls `trap cleanup EXIT`.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

stop_pid() { # TERM, up to 15 s, then KILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local p
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && stop_pid "$p"
  done
  if [ "${KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # port seconds: until something listens on 127.0.0.1:port
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if ss -Htln "sport = :$1" | grep -q .; then return 0; fi
    sleep 0.1
  done
  return 1
}
