#!/usr/bin/env bash
# Builds ticketd's Debian package with cargo-deb and checks it for real: `dpkg -i` installs the
# binary, the unit, the user and /etc/ticketd; `systemd-analyze verify` accepts the unit; an
# upgrade keeps the admin's edited config; `systemd-analyze security` rates the hardening.
# Then the package is removed again (purged only with --purge).
#
#   scripts/package.sh [--keep] [--purge]
#
# Needs root (dpkg). Installs cargo-deb when missing (`cargo install cargo-deb --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."

keep=0 purge=0
for arg in "$@"; do
    case $arg in
        --keep) keep=1 ;;
        --purge) purge=1 ;;
        *) echo "usage: $0 [--keep] [--purge]" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "package.sh: dpkg -i needs root" >&2
    exit 1
fi
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked --version 3.8.0

# The manual page and the shell completions are made by the binary itself from its command-line
# definitions, so they never drift from it.
cargo build --release --locked
mkdir -p target/assets
target/release/ticketd man | gzip -9n > target/assets/ticketd.1.gz
target/release/ticketd completions bash > target/assets/ticketd.bash
target/release/ticketd completions zsh > target/assets/_ticketd
target/release/ticketd completions fish > target/assets/ticketd.fish
cargo deb --locked --no-build --strip
deb=$(ls -t target/debian/ticketd_*.deb | head -1)
echo "built $deb ($(du -h "$deb" | cut -f1))"

cleanup() {
    if [ "$keep" = 0 ]; then
        if [ "$purge" = 1 ]; then dpkg --purge ticketd >/dev/null; else dpkg -r ticketd >/dev/null; fi
    fi
}
trap cleanup EXIT

DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
unit=$(dpkg -L ticketd | grep -E '/systemd/system/ticketd\.service$')
echo "unit: $unit"
getent passwd ticketd >/dev/null || { echo "FAIL: no ticketd user" >&2; exit 1; }
[ "$(stat -c %U:%G:%a /etc/ticketd/config.toml)" = "root:ticketd:640" ] \
    || { echo "FAIL: /etc/ticketd/config.toml is $(stat -c %U:%G:%a /etc/ticketd/config.toml)" >&2; exit 1; }
/usr/bin/ticketd --version
# The manual page and completions are where man and the shells look.
command -v man >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq man-db >/dev/null
MANPAGER=cat man ticketd | grep -q "ticketd" || { echo "FAIL: man ticketd" >&2; exit 1; }
for f in /usr/share/bash-completion/completions/ticketd /usr/share/zsh/vendor-completions/_ticketd \
         /usr/share/fish/vendor_completions.d/ticketd.fish; do
    [ -s "$f" ] || { echo "FAIL: no $f" >&2; exit 1; }
done
echo "man page and completions: ok"

# systemd-analyze verify checks the unit's syntax, its ExecStart binary and its dependencies.
systemd-analyze verify "$unit"
echo "systemd-analyze verify: ok"

# An upgrade (here: the same package again) keeps the admin's edits to conffiles.
echo "# edited by the admin" >> /etc/ticketd/config.toml
DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$deb" >/dev/null
grep -q "edited by the admin" /etc/ticketd/config.toml || { echo "FAIL: the upgrade lost the edited config" >&2; exit 1; }
sed -i '/# edited by the admin/d' /etc/ticketd/config.toml
echo "upgrade keeps /etc/ticketd/config.toml: ok"

# The exposure rating of the hardening (lower is better; "OK" is below 5).
systemd-analyze security --offline=yes "$unit" 2>/dev/null | tail -1 || true
