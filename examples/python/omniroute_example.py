"""Plumbing shared by the Python examples (session_lifecycle.py, customer_journey.py).

Nothing here is omniroute's API: the examples make every call themselves. This module only
holds what they do alike around those calls:

  * the command line (--address, --stubs) and the import of the stubs protoc generated
    from proto/omniroute/v1/*.proto into the --stubs directory: `parse_args`, `import_stubs`;
  * connecting, running an example, cleaning up and reporting OK or FAILED: `run`;
  * printing and checking: `step`, `say`, `check`, `name`, and `ExampleFailure`;
  * unary calls with a deadline: `call`, `expect_error`;
  * reading a server stream with a timeout: `StreamReader`, and `describe_offers_message`
    for the messages of AgentService.StreamOffers.

It needs grpc and google.protobuf (Debian: python3-grpcio, python3-protobuf). Like the
examples, it knows only the public contract, the .proto files.
"""

import argparse
import contextlib
import importlib
import os
import queue
import sys
import threading

import grpc

RPC_TIMEOUT = 5.0      # seconds: the deadline of every unary call
READ_TIMEOUT = 5.0     # seconds: the longest wait for the next message of a stream
STREAM_TIMEOUT = 120.0  # seconds: the deadline of every stream (they are cancelled sooner)

# The modules protoc generates in omniroute/v1/ from proto/omniroute/v1/*.proto.
STUB_MODULES = (
    "resources_pb2", "config_pb2",
    "admin_service_pb2", "admin_service_pb2_grpc",
    "agent_service_pb2", "agent_service_pb2_grpc",
    "customer_service_pb2", "customer_service_pb2_grpc",
    "device_service_pb2", "device_service_pb2_grpc",
    "event_service_pb2", "event_service_pb2_grpc",
    "session_service_pb2", "session_service_pb2_grpc",
)


# -- Command line and stubs -------------------------------------------------------------------

def parse_args(doc):
    """Parses --address and --stubs; `doc` is the example's docstring (its first line
    describes the example in --help)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--address", required=True, help="omnirouted's HOST:PORT")
    parser.add_argument("--stubs", required=True,
                        help="directory holding the generated omniroute/v1/*_pb2*.py modules")
    return parser.parse_args()


def import_stubs(stubs_dir):
    """Imports the generated modules from `stubs_dir` and returns their package, omniroute.v1
    (its modules are attributes: v1.resources_pb2, v1.session_service_pb2_grpc, ...).

    Exits with status 2 and a hint when they cannot be imported.
    """
    sys.path.insert(0, stubs_dir)
    try:
        for module in STUB_MODULES:
            importlib.import_module(f"omniroute.v1.{module}")
        return importlib.import_module("omniroute.v1")
    except ImportError as e:
        program = os.path.splitext(os.path.basename(sys.argv[0]))[0]
        print(f"{program}: cannot import the gRPC modules ({e}); install grpcio and "
              f"protobuf, and generate the stubs into --stubs", file=sys.stderr)
        sys.exit(2)


# -- Running an example -----------------------------------------------------------------------

class ExampleFailure(Exception):
    """Something was not as the contract says it should be."""


@contextlib.contextmanager
def connect(address):
    """Yields (channel, readers): a channel to omnirouted, ready to use, and a list for the
    StreamReaders opened on it. On the way out the readers are closed, then the channel."""
    channel = grpc.insecure_channel(address)
    readers = []
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT)
        except grpc.FutureTimeoutError:
            raise ExampleFailure(f"cannot connect to {address} within {RPC_TIMEOUT}s") from None
        yield channel, readers
    finally:
        for reader in readers:
            reader.close()
        channel.close()


def run(address, example):
    """Runs `example(channel, readers)` against omnirouted at `address` (see connect) and
    returns the exit status: 0 when every step behaved, 1 after printing the failure."""
    try:
        with connect(address) as (channel, readers):
            example(channel, readers)
    except ExampleFailure as e:
        print(f"\nFAILED: {e}", file=sys.stderr, flush=True)
        return 1
    print("\nOK: every step behaved as the contract says.", flush=True)
    return 0


# -- Printing and checking --------------------------------------------------------------------

def step(text):
    print(f"\n== {text}", flush=True)


def say(text):
    print(f"   {text}", flush=True)


def check(condition, message):
    if not condition:
        raise ExampleFailure(message)


def name(enum, value):
    """The symbolic name of an enum value, e.g. SESSION_STATE_QUEUED."""
    return enum.Name(value)


# -- Unary calls ------------------------------------------------------------------------------

def call(method, request, what):
    """A unary call with a deadline; a non-OK status stops the example."""
    try:
        return method(request, timeout=RPC_TIMEOUT)
    except grpc.RpcError as e:
        raise ExampleFailure(f"{what} failed: {e.code().name}: {e.details()}") from None


def expect_error(method, request, code, what):
    """A unary call that must fail with `code`; returns the error message."""
    try:
        method(request, timeout=RPC_TIMEOUT)
    except grpc.RpcError as e:
        check(e.code() == code,
              f"{what}: expected {code.name}, got {e.code().name}: {e.details()}")
        return e.details()
    raise ExampleFailure(f"{what}: expected {code.name}, but the call succeeded")


# -- Server streams ---------------------------------------------------------------------------

class StreamReader:
    """Reads a server stream on a thread so the main thread can wait with a timeout.

    `next()` returns the next message, or raises when none comes within READ_TIMEOUT or the
    stream ended. `wait_for()` skips (and prints) messages until one matches. `finish()`
    waits for the end of the stream and returns its status code.
    """

    _END = object()

    def __init__(self, label, rpc_call, describe):
        self.label = label
        self.call = rpc_call           # the grpc call object: an iterator, and cancel()
        self.describe = describe       # message -> one line of text
        self.messages = queue.Queue()
        self.end_code = None
        self.end_details = None
        self.thread = threading.Thread(target=self._run, name=label, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for message in self.call:
                self.messages.put(message)
            self.end_code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.end_code, self.end_details = e.code(), e.details()
        self.messages.put(self._END)

    def next(self, what):
        try:
            message = self.messages.get(timeout=READ_TIMEOUT)
        except queue.Empty:
            raise ExampleFailure(
                f"{self.label}: nothing within {READ_TIMEOUT}s while waiting for {what}") from None
        if message is self._END:
            self.messages.put(self._END)  # stay ended for later reads
            raise ExampleFailure(
                f"{self.label}: the stream ended ({self.end_code.name}: {self.end_details}) "
                f"while waiting for {what}")
        say(f"[{self.label}] {self.describe(message)}")
        return message

    def wait_for(self, predicate, what):
        while True:
            message = self.next(what)
            if predicate(message):
                return message

    def finish(self, what):
        """Waits for the end of the stream (after any messages still coming)."""
        while True:
            try:
                message = self.messages.get(timeout=READ_TIMEOUT)
            except queue.Empty:
                raise ExampleFailure(
                    f"{self.label}: did not end within {READ_TIMEOUT}s ({what})") from None
            if message is self._END:
                self.messages.put(self._END)
                return self.end_code
            say(f"[{self.label}] {self.describe(message)}")

    def close(self):
        self.call.cancel()
        self.thread.join(timeout=READ_TIMEOUT)


def describe_offers_message(m, describe_offer):
    """One line of text for a StreamOffers message; `describe_offer(offer)` writes the line of
    an offer, each example showing the fields it is about."""
    # Imported here, not at the top: they come from --stubs (import_stubs).
    from omniroute.v1 import agent_service_pb2 as agent_pb, resources_pb2 as res
    kind = m.WhichOneof("update")
    if kind == "snapshot":
        s = m.snapshot
        return (f"snapshot: presence={name(res.Presence, s.status.presence)} "
                f"pending_offers={len(s.pending_offers)} held={len(s.held_sessions)}")
    if kind == "offer":
        return describe_offer(m.offer)
    if kind == "offer_end":
        e = m.offer_end
        return (f"offer {e.offer_id} ended: session={e.session_id} "
                f"{name(agent_pb.OfferEndReason, e.reason)}")
    if kind == "session_update":
        s = m.session_update.session
        return (f"session {s.id} {name(res.SessionState, s.state)} "
                f"(event {name(res.EventType, m.event.type)})")
    if kind == "status":
        return f"status: presence={name(res.Presence, m.status.presence)}"
    return f"unexpected message {m}"
