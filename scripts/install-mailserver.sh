#!/usr/bin/env bash
# Installs what the tests and the demo need — Dovecot (IMAP + LMTP), Postfix, SpamAssassin's
# spamd and Chromium (headless, for the rating page test) — when missing.
# Debian/Ubuntu only; needs root (or sudo). The packages' own system services are kept from
# starting: ticketd's tests run private instances on loopback ports instead.
set -euo pipefail

need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
command -v postfix >/dev/null 2>&1 || need+=(postfix)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# SpamAssassin's spamd, for the live-scan tests (started privately, local rules only).
# Debian 12's later point releases moved the daemon into a package of its own, "spamd".
command -v spamd >/dev/null 2>&1 || need+=(spamassassin spamd-if-packaged)
# A real browser for the rating page (tests/ratings.rs runs it headless).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-mailserver: need root to install ${need[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
echo "installing ${need[*]} ..." >&2

# Keep the packages from starting their system-wide services while they install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

# No system-wide Postfix configuration: the tests write their own.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
for i in "${!need[@]}"; do
    if [ "${need[$i]}" = spamd-if-packaged ]; then
        if apt-cache show spamd >/dev/null 2>&1; then need[$i]=spamd; else unset 'need[i]'; fi
    fi
done
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed ${need[*]}" >&2
