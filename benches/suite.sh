#!/usr/bin/env bash
# ticketd's benchmark suite (benches/suite.py): ingest against mbsync and a plain FETCH, delivery
# against smtp-source, IDLE latency, memory and scale, each beside its baseline from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-mailserver.sh
command -v mbsync >/dev/null 2>&1 || { echo "installing isync (mbsync) ..." >&2; apt-get install -y -qq isync >/dev/null; }
cargo build --release --locked
exec python3 benches/suite.py "$@"
