#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs omniroute.
# Until the daemon lands this runs the engine demo, which routes a small after-sales day on
# virtual time and prints every decision with its reason.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
exec "$root/build/examples/omniroute_demo" "$@"
