#!/usr/bin/env bash
# The whole test suite: unit tests and the integration tests against a real Dovecot and Postfix
# (installed first when missing; each test starts its own private instance on loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-mailserver.sh
cargo test --locked "$@"
