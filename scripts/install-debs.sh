#!/usr/bin/env bash
# Installs the Debian packages mailadmin needs. Idempotent: asks apt only for what is missing.
# Runs as root, or through sudo when not root. No daemon is started or enabled here:
# mailadmin/stack starts its own private instances.
set -euo pipefail

PACKAGES=(
  slapd ldap-utils                                   # OpenLDAP server and clients
  slapd-contrib                                      # pw-pbkdf2: imported {PBKDF2-*} hashes stay valid
  postfix postfix-ldap                               # Postfix with ldap: tables
  cyrus-imapd cyrus-admin cyrus-clients              # Cyrus IMAP (conflicts with dovecot-imapd)
  sasl2-bin libsasl2-modules                         # saslauthd, saslpasswd2
  redis-server postgresql                            # Celery broker, Django database
  nginx openssl                                      # HTTPS in front of the console (ssl, proxy, gzip)
  proftpd-core proftpd-mod-ldap                      # free/busy FTP with directory logins (mod_ldap)
  postfix-pcre                                       # pcre: tables (header and body checks)
  clamav-daemon clamdscan                            # clamd, with the project's own signatures only
  amavisd-new spamassassin spamc                     # the content filter; SpamAssassin runs inside amavisd
  libldap2-dev libsasl2-dev libpq-dev gcc            # to build python-ldap and psycopg2
  python3-dev python3-venv
  chromium chromium-driver                           # browser tests (never a downloaded browser)
  gettext                                            # compilemessages
  pst-utils                                          # readpst: Outlook PST archives for the mail import
  zstd xz-utils gzip                                 # backup compression (zstd default, gzip, xz)
  procps psmisc iproute2 util-linux                  # ps, fuser, ss, script (pty for postfix check)
)

missing=()
for p in "${PACKAGES[@]}"; do
  [[ $p == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=()
[[ $(id -u) == 0 ]] || SUDO=(sudo)
echo "installing Debian packages: ${missing[*]}"
# Debian starts services from postinst when it can; mailadmin runs its own, so keep them off.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
  trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
# The system daemons' PID files (Debian's defaults). A daemon that runs already was started by someone else
# and is left alone; one that a postinst starts despite policy-rc.d is stopped below, by its PID file only.
SYSTEM_PIDFILES=(/run/nginx.pid /run/proftpd.pid /run/clamav/clamd.pid /run/clamav/freshclam.pid
  /run/amavis/amavisd.pid)
running_pid() {
  local pid s
  [[ -s $1 ]] || return 1
  pid=$(tr -cd '0-9' < "$1") && [[ -n $pid ]] || return 1
  s=$(ps -o stat= -p "$pid" 2>/dev/null) && [[ -n $s && $s != Z* ]] || return 1
  echo "$pid"
}
declare -A before=()
for f in "${SYSTEM_PIDFILES[@]}"; do
  before[$f]=$(running_pid "$f" || true)
done
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
for f in "${SYSTEM_PIDFILES[@]}"; do
  pid=$(running_pid "$f" || true)
  if [[ -n $pid && $pid != "${before[$f]}" ]]; then
    echo "stopping the system daemon the install started (pid $pid from $f)"
    "${SUDO[@]}" kill -TERM "$pid" 2>/dev/null || true
  fi
done
