# Helpers the benchmark scripts share (sourced, not run). They call the sourcing script's `die`.

# wait_for <name> <pid> <log> <command...>: until the command succeeds (60 s), or the process dies.
wait_for() {
  local name=$1 pid=$2 logfile=$3
  shift 3
  for _ in $(seq 600); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$logfile" >&2 || true
      die "$name exited during start-up (log above)"
    fi
    sleep 0.1
  done
  tail -n 40 "$logfile" >&2 || true
  die "$name did not answer within 60 s (log above)"
}

stop() { # stop <pid>: ends one process this script started, and reaps it
  local pid=$1
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cpu_busy() { # percent of all CPU time spent busy over 2 s
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep 2
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; i = y[2] - x[2];
    printf "%.0f", (t > 0) ? 100 * (t - i) / t : 0 }'
}
