#!/usr/bin/env bash
# Installs the Debian packages mailadmin needs. Idempotent: asks apt only for what is missing.
# Runs as root, or through sudo when not root. No daemon is started or enabled here:
# mailadmin/stack starts its own private instances.
set -euo pipefail

PACKAGES=(
  slapd ldap-utils                                   # OpenLDAP server and clients
  postfix postfix-ldap                               # Postfix with ldap: tables
  cyrus-imapd cyrus-admin cyrus-clients              # Cyrus IMAP (conflicts with dovecot-imapd)
  sasl2-bin libsasl2-modules                         # saslauthd, saslpasswd2
  redis-server postgresql                            # Celery broker, Django database
  libldap2-dev libsasl2-dev libpq-dev gcc            # to build python-ldap and psycopg2
  python3-dev python3-venv
  chromium chromium-driver                           # browser tests (never a downloaded browser)
  gettext                                            # compilemessages
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
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
