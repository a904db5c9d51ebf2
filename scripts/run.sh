#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and starts the daemon
# `omnirouted` on its embedded demo configuration, listening on 127.0.0.1:7400 (gRPC, with
# health checking and reflection) and 127.0.0.1:7401 (HTTP: the wallboard at /, /metrics,
# /healthz, /readyz). It builds the operators' command line too: build/ctl/omniroutectl.
# Extra arguments go to omnirouted, e.g.
#   scripts/run.sh --config=proto/examples/omnirouted.textproto
#   scripts/run.sh --listen=127.0.0.1:7500 --log_level=debug
# Stop it with Ctrl-C (graceful shutdown).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target omnirouted omniroutectl -j "$(nproc)"
exec "$root/build/daemon/omnirouted" "$@"
