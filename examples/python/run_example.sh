#!/usr/bin/env bash
# Runs one of the Python examples of examples/python against a fresh omnirouted.
#
#   examples/python/run_example.sh PATH/TO/omnirouted [EXAMPLE]
#
# EXAMPLE is the file name of the example script in examples/python, default
# session_lifecycle.py (e.g. customer_journey.py).
#
# Generates the Python stubs from proto/ into a temporary directory, starts the daemon on a
# free port (127.0.0.1:0) with its embedded demo configuration and a fresh data directory,
# reads the port from the "omnirouted listening on HOST:PORT" line it prints on stdout, runs
# the example with /usr/bin/python3 (Debian's python3-grpcio and python3-protobuf), then stops
# the daemon with SIGTERM and checks that it exits with status 0. Exits non-zero on any
# failure, printing the daemon's log (stderr). Works from any directory. Used by CTest
# (python_session_lifecycle, python_customer_journey).
#
# Needs: protoc, /usr/bin/grpc_python_plugin (protobuf-compiler-grpc), /usr/bin/python3 with
# grpc and google.protobuf; override with PROTOC, GRPC_PYTHON_PLUGIN, PYTHON.

set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 PATH/TO/omnirouted [EXAMPLE (default session_lifecycle.py)]" >&2
  exit 2
fi
daemon=$1
example=${2:-session_lifecycle.py}
if [[ ! -x $daemon ]]; then
  echo "run_example.sh: $daemon is not an executable" >&2
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $example == */* || ! -f $here/$example ]]; then
  echo "run_example.sh: $example is not an example script in $here" >&2
  exit 2
fi
repo=$(cd "$here/../.." && pwd)
protoc=${PROTOC:-protoc}
plugin=${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}
python=${PYTHON:-/usr/bin/python3}
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree

work=$(mktemp -d "${TMPDIR:-/tmp}/omniroute-pyexample.XXXXXX")
daemon_pid=""
cleanup() {
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  exec 3<&- 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "run_example.sh: $*" >&2
  if [[ -s $work/daemon.stderr ]]; then
    echo "---- omnirouted stderr ----" >&2
    cat "$work/daemon.stderr" >&2
    echo "---------------------------" >&2
  fi
  exit 1
}

# 1. Stubs.
mkdir -p "$work/stubs"
"$protoc" -I"$repo/proto" -I/usr/include \
  --python_out="$work/stubs" --grpc_python_out="$work/stubs" \
  --plugin=protoc-gen-grpc_python="$plugin" \
  "$repo"/proto/omniroute/v1/*.proto || fail "protoc could not generate the Python stubs"

# 2. The daemon, on a free port, its stdout on a pipe we read.
mkfifo "$work/daemon.stdout"
"$daemon" --listen=127.0.0.1:0 --http=127.0.0.1:0 --data_dir="$work/data" >"$work/daemon.stdout" 2>"$work/daemon.stderr" &
daemon_pid=$!
exec 3<"$work/daemon.stdout"  # opens once the daemon has the fifo open for writing

# The first stdout line, within 30 s; EOF (the daemon died) ends the read at once.
line=""
if ! IFS= read -r -t 30 line <&3; then
  if kill -0 "$daemon_pid" 2>/dev/null; then
    fail "omnirouted printed no listening line within 30 s"
  fi
  status=0
  wait "$daemon_pid" || status=$?
  daemon_pid=""
  fail "omnirouted exited with status $status before serving"
fi
if [[ $line =~ ^omnirouted\ listening\ on\ (.+:[0-9]+)$ ]]; then
  address=${BASH_REMATCH[1]}
else
  fail "unexpected first line from omnirouted: '$line'"
fi
echo "run_example.sh: omnirouted (pid $daemon_pid) listening on $address"

# 3. The example.
example_status=0
"$python" "$here/$example" --address "$address" --stubs "$work/stubs" ||
  example_status=$?

# 4. Graceful stop: SIGTERM, exit status 0 expected. The daemon's stdout reaches EOF when it
#    exits: read it to the end, for at most 30 s, so a hung shutdown cannot hang the test.
kill -TERM "$daemon_pid"
while true; do
  read_status=0
  IFS= read -r -t 30 line <&3 || read_status=$?
  [[ $read_status -eq 0 ]] || break
done
if [[ $read_status -gt 128 ]]; then
  fail "omnirouted did not exit within 30 s of SIGTERM"
fi
daemon_status=0
wait "$daemon_pid" || daemon_status=$?
daemon_pid=""

if [[ $example_status -ne 0 ]]; then
  fail "the example failed (exit status $example_status)"
fi
if [[ $daemon_status -ne 0 ]]; then
  fail "omnirouted exited with status $daemon_status after SIGTERM (expected 0)"
fi
echo "run_example.sh: OK (omnirouted stopped cleanly)"
