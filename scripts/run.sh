#!/usr/bin/env bash
# `make run`: the private stack under var/, migrations, the `admin` account, and the console
# (gunicorn on 127.0.0.1:$MAILADMIN_PORT, a Celery worker and beat). Idempotent: what runs is left alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=$PWD/.venv/bin/python
PORT=${MAILADMIN_PORT:-8000}
VAR=${MAILADMIN_VAR_DIR:-$PWD/var}
export MAILADMIN_VAR_DIR=$VAR
RUN=$VAR/run LOG=$VAR/log
mkdir -p "$RUN" "$LOG"
# Plain HTTP on loopback: the production shape (MAILADMIN_TLS=1, the default) sits behind TLS.
export MAILADMIN_TLS=${MAILADMIN_TLS:-0}
export MAILADMIN_ALLOWED_HOSTS=${MAILADMIN_ALLOWED_HOSTS:-127.0.0.1,localhost}
# The stack's nginx serves the console over HTTPS too: believe its X-Forwarded-Proto (so CSRF checks see the
# https origin) and its X-Forwarded-For (login throttle, audit log). Both only from loopback.
export MAILADMIN_BEHIND_PROXY=${MAILADMIN_BEHIND_PROXY:-1}
export MAILADMIN_TRUSTED_PROXIES=${MAILADMIN_TRUSTED_PROXIES:-127.0.0.1}
export CONSOLE_URL=${CONSOLE_URL:-http://127.0.0.1:$PORT/}

alive() { [[ -s $1 ]] || return 1; local pid; pid=$(tr -d ' \n' < "$1") || return 1; [[ -n $pid ]] || return 1
          local s; s=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1; [[ -n $s && $s != Z* ]]; }

if "$PY" manage.py stack status >/dev/null 2>&1; then
  echo "private stack: already running ($VAR/stack)"
else
  "$PY" manage.py stack start --ports "${MAILADMIN_STACK_PORTS:-default}"
fi
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py collectstatic --noinput -v0
"$PY" manage.py ensure_admin
# a stack made afresh beside an existing console database: the filter reads its disclaimers from this file
"$PY" manage.py mailfilter --export >/dev/null

# The Configuration menu's gunicorn_workers (nginx) is kept in the stack's web/gunicorn.env: read it as data
# (one GUNICORN_WORKERS=N line), never source it.
WORKERS=2
if [[ -r $VAR/stack/web/gunicorn.env ]]; then
  w=$(sed -n 's/^GUNICORN_WORKERS=\([0-9]\{1,2\}\)$/\1/p' "$VAR/stack/web/gunicorn.env" | tail -n 1)
  if [[ -n $w && $w -ge 1 ]]; then WORKERS=$w; fi
fi
if alive "$RUN/gunicorn.pid"; then
  echo "console: already running (pid $(cat "$RUN/gunicorn.pid"))"
else
  # --capture-output: the console's own stderr (tracebacks of 500s among it) lands in gunicorn.log too;
  # errors also go to $LOG/errors.log (settings.LOGGING).
  .venv/bin/gunicorn mailadmin.wsgi:application --bind "127.0.0.1:$PORT" --workers "$WORKERS" --daemon \
    --pid "$RUN/gunicorn.pid" --access-logfile "$LOG/access.log" --error-logfile "$LOG/gunicorn.log" \
    --capture-output
fi
if ! alive "$RUN/celery-worker.pid"; then
  .venv/bin/celery -A mailadmin worker --detach --concurrency 2 --pidfile "$RUN/celery-worker.pid" \
    --logfile "$LOG/celery-worker.log" --loglevel INFO
fi
if ! alive "$RUN/celery-beat.pid"; then
  .venv/bin/celery -A mailadmin beat --detach --pidfile "$RUN/celery-beat.pid" \
    --logfile "$LOG/celery-beat.log" --loglevel INFO --schedule "$VAR/celerybeat-schedule"
fi

# `celery --detach` writes its pidfile after forking: wait for both, or an early `make stop` would miss them.
for _ in $(seq 1 100); do
  [[ -s $RUN/celery-worker.pid && -s $RUN/celery-beat.pid ]] && break
  sleep 0.1
done
for _ in $(seq 1 100); do
  if "$PY" - "$PORT" <<'PYEOF' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/login/", timeout=1)
PYEOF
  sleep 0.1
done
echo
HTTPS_URL=$(sed -n 's/^HTTPS_URL=//p' "$VAR/stack.env" 2>/dev/null | tr -d "'" | tail -n 1)
echo "mailadmin console: http://127.0.0.1:$PORT/   (log in as admin; the first run printed its password above)"
if [[ -n $HTTPS_URL ]]; then
  echo "         and over HTTPS: $HTTPS_URL   (nginx; self-signed certificate in $VAR/stack/web/tls/)"
fi
echo "daemons: $VAR/stack.env (LDAP_URI, SMTP_PORT, IMAP_PORT, ...);  stop everything: make stop"
