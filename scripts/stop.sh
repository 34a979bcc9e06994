#!/usr/bin/env bash
# `make stop`: stop the console processes and the private stack, by PID files only.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VAR=${MAILADMIN_VAR_DIR:-$PWD/var}
export MAILADMIN_VAR_DIR=$VAR
RUN=$VAR/run
stop_pidfile() {
  local f=$1 name=$2 pid s
  [[ -s $f ]] || return 0
  pid=$(tr -d ' \n' < "$f")
  if s=$(ps -o stat= -p "$pid" 2>/dev/null) && [[ -n $s && $s != Z* ]]; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 150); do
      s=$(ps -o stat= -p "$pid" 2>/dev/null) || break
      [[ $s == Z* ]] && break
      sleep 0.1
    done
    if s=$(ps -o stat= -p "$pid" 2>/dev/null) && [[ $s != Z* ]]; then kill -KILL "$pid" 2>/dev/null; fi
    echo "$name stopped (pid $pid)"
  fi
  rm -f "$f"
}
stop_pidfile "$RUN/celery-beat.pid" "celery beat"
stop_pidfile "$RUN/celery-worker.pid" "celery worker"
stop_pidfile "$RUN/gunicorn.pid" "console (gunicorn)"
if [[ -x .venv/bin/python ]]; then
  .venv/bin/python manage.py stack stop
fi
