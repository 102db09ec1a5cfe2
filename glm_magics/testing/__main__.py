"""Run the local GLM test server from a terminal until Ctrl+C.

    python -m glm_magics.testing --port 8765 --ttft 0.4 --tps 40 --latency 0.2 --rpm 60

Then point the magics (or any OpenAI-compatible client) at the printed base URL.
With nothing queued, every answer is the canned demo reply, which says it is not
the model. A key can only be required through an environment variable name
(``--require-key-env GLM_TEST_KEY``): a literal on the command line would land in
shell history and process listings.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from glm_magics.testing.rate_limit import RateLimit
from glm_magics.testing.server import LocalGLMServer

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m glm_magics.testing",
        description="Serve canned GLM-4.7-Flash style answers on an OpenAI-compatible API "
        "(a local test server, not the model).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any (default 8765)")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds before each response's status line"
    )
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds before the first token")
    parser.add_argument(
        "--tps", type=float, default=None, help="tokens per second (default: as fast as possible)"
    )
    parser.add_argument("--chunk-size", type=int, default=1, help="tokens per SSE event")
    parser.add_argument(
        "--rpm", type=float, default=None, help="requests per minute before 429 (default: no limit)"
    )
    parser.add_argument(
        "--tpm", type=float, default=None, help="tokens per minute before 429 (default: no limit)"
    )
    parser.add_argument(
        "--concurrent", type=int, default=None, help="answers at once before 429 (default: any)"
    )
    parser.add_argument(
        "--publish-limits",
        action="store_true",
        help="send x-ratelimit-* headers and list the limits at GET /v1/models/{id}",
    )
    parser.add_argument(
        "--require-key-env",
        metavar="VAR",
        default=None,
        help="require 'Authorization: Bearer <key>' with the key read from this env variable",
    )
    parser.add_argument("--log", action="store_true", help="print request lines to stderr")
    return parser


def _stop_on_signals(done: threading.Event) -> None:
    """Ctrl+C and ``kill`` end the loop below; set explicitly because a launcher
    (a background job of a script, some CI runners) may have left SIGINT ignored."""

    def handler(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, serve until interrupted, return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    key: str | None = None
    if args.require_key_env is not None:
        key = os.environ.get(args.require_key_env)
        if not key:
            parser.error(f"environment variable {args.require_key_env} is not set or empty")
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")
    limits = {"--rpm": args.rpm, "--tpm": args.tpm, "--concurrent": args.concurrent}
    for flag, value in limits.items():
        if value is not None and not value > 0:
            parser.error(f"{flag} must be positive")
    rate_limit = None
    if any(value is not None for value in limits.values()):
        rate_limit = RateLimit(args.rpm, args.tpm, args.concurrent, published=args.publish_limits)
    server = LocalGLMServer(
        args.host,
        args.port,
        require_key=key,
        latency=args.latency,
        ttft=args.ttft,
        tokens_per_second=args.tps,
        chunk_size=args.chunk_size,
        rate_limit=rate_limit,
        log_requests=args.log,
    )
    try:
        server.start()
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"GLM local test server on {server.base_url} (not the real model)", flush=True)
    if key is not None:
        print(f"requires the API key from ${args.require_key_env}", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    done = threading.Event()
    _stop_on_signals(done)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:  # a Ctrl+C that came before the handlers were set
        pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
