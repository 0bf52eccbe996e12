#!/usr/bin/env bash
# The b00t operator as a local process against the local cluster (`make up` starts it, `make down` stops it).
#   scripts/operator.sh start [ENV]   start (a no-op when running); waits until it has listed the cluster
#   scripts/operator.sh stop          SIGTERM by pid, SIGKILL after 15 s
#   scripts/operator.sh status        exit 0 when running
# pid in .cache/cluster/operator.pid, log in .cache/cluster/logs/operator.log.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.cache/cluster
PIDFILE=$DIR/operator.pid
LOG=$DIR/logs/operator.log
ENV_NAME=${2:-${ENV:-dev}}

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "[operator] running (pid $(cat "$PIDFILE"))"; exit 0; fi
    set +e
    .venv/bin/python -c 'import sys
from b00t_pulumi.errors import B00tError
from b00t_pulumi.settings import load_environment
try:
    o = load_environment(sys.argv[1]).operator
except B00tError as e:
    sys.exit(f"[operator] {e}")
sys.exit(0 if o is not None and o.local else 3)' "$ENV_NAME"
    wanted=$?
    set -e
    if [[ $wanted == 3 ]]; then echo "[operator] b00t:operator.local is not set in Pulumi.$ENV_NAME.yaml: not started"; exit 0; fi
    [[ $wanted == 0 ]] || exit 1
    mkdir -p "$DIR/logs"
    : >>"$LOG"
    start_line=$(wc -l <"$LOG")
    nohup .venv/bin/b00t-pulumi operator --env "$ENV_NAME" --kubeconfig "$DIR/kubeconfig" >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 120); do
      if ! running; then
        echo "[operator] exited at start; last lines of $LOG:" >&2
        tail -n +"$((start_line + 1))" "$LOG" | tail -20 >&2
        rm -f "$PIDFILE"; exit 1
      fi
      if tail -n +"$((start_line + 1))" "$LOG" | grep -q "objects listed; reconciling"; then
        echo "[operator] running (pid $(cat "$PIDFILE"), log $LOG)"; exit 0
      fi
      sleep 0.5
    done
    echo "[operator] not ready after 60 s; see $LOG" >&2; exit 1 ;;
  stop)
    if ! running; then rm -f "$PIDFILE"; exit 0; fi
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$PIDFILE"; echo "[operator] stopped (pid $pid)" ;;
  status)
    if running; then echo "[operator] running (pid $(cat "$PIDFILE"))"; else echo "[operator] not running"; exit 1; fi ;;
  *) echo "usage: scripts/operator.sh start [ENV] | stop | status" >&2; exit 2 ;;
esac
