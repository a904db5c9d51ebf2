#!/usr/bin/env bash
# The README's second command: installs what is missing, builds, and runs every test.
#   scripts/test.sh             optimised build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"

if [ "${1:-}" = "--sanitize" ]; then
  build="$root/build-asan"
  "$root/scripts/build.sh" "$build" -DCMAKE_BUILD_TYPE=Debug -DOMNIROUTE_SANITIZE=ON \
    -DOMNIROUTE_BUILD_BENCH=OFF
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  # The randomized differential test runs its full 10,000 sequences in the optimised build;
  # under the sanitizers a smaller share keeps CI within its time.
  export OMNIROUTE_DIFF_SEQUENCES="${OMNIROUTE_DIFF_SEQUENCES:-2000}"
  # The simulator's Erlang C/A validation runs 30 million sessions in the optimised build;
  # under the sanitizers (a Debug build, some 50 times slower) 0.5 % of that, with the
  # tolerance widened as the statistical error grows.
  export OMNIROUTE_SIM_VALIDATION_SCALE="${OMNIROUTE_SIM_VALIDATION_SCALE:-0.005}"
else
  build="$root/build"
  "$root/scripts/build.sh" "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 1200
