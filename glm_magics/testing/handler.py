"""The HTTP side of the local GLM server: routes, validation, and paced streaming.

``GLMRequestHandler`` runs on one daemon thread per connection. The three answer
routes (``/v1/chat/completions``, ``/v1/responses``, ``/v1/messages``) take one path,
each with its :class:`~glm_magics.testing.protocol_format.ProtocolFormat`: the
request is checked in the order a real server checks it (key, JSON, parameters,
model, rate limit), then takes its :class:`Reply` (queued, from the responder, or
the canned default), waits out its latency, and is answered either as one JSON
body or as a chunked ``text/event-stream`` whose events are written one by one,
paced, with the reply's faults injected at the requested positions. Only the
shapes come from the format; the steps, the pacing and the faults are the same on
every route.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from glm_magics.testing.app import Pacing, ServerApp
from glm_magics.testing.chat_format import CHAT
from glm_magics.testing.messages_format import MESSAGES
from glm_magics.testing.protocol_format import Answer, ProtocolFormat
from glm_magics.testing.rate_limit import RATE_LIMIT_CODE
from glm_magics.testing.recording import RecordedRequest, parse_body, read_body, redacted_headers
from glm_magics.testing.replies import Reply
from glm_magics.testing.responses_format import RESPONSES
from glm_magics.testing.validation import Problem, RequestRules, validate_request
from glm_magics.testing.wire import (
    completion_id,
    dumps,
    error_body,
    estimate_prompt_tokens,
    model_detail,
    model_list,
    usage_for,
)

__all__ = ["GLMRequestHandler"]

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
_RAW_EVENT = re.compile(rb".+?(?:\r\n\r\n|\n\n|\r\r)|.+", re.DOTALL)
FORMATS: dict[str, ProtocolFormat] = {wire.path: wire for wire in (CHAT, RESPONSES, MESSAGES)}
"""The answer routes: each protocol's format by the path it is served at."""


class _Aborted(Exception):
    """The response cannot go on: the client left, or the server is stopping."""


class GLMRequestHandler(BaseHTTPRequestHandler):
    """Serves one connection for :class:`~glm_magics.testing.LocalGLMServer`.

    The server is reached as ``self.app``, typed by :class:`ServerApp` only.
    """

    protocol_version = "HTTP/1.1"
    server_version = "glm-magics-local-test-server/0.1"
    sys_version = ""

    # Per-request state, set by _record(), _answer(), _answered_early() and _stream().
    _record_ref: RecordedRequest | None = None
    _body_is_bad_json = False
    _headers: dict[str, str]
    _chunked = False
    _pacing: Pacing

    @property
    def app(self) -> ServerApp:
        """The server this connection belongs to (set by the socket server as ``app``)."""
        return self.server.app  # type: ignore[attr-defined, no-any-return]

    # plumbing ----------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body (and each SSE event) are separate writes: without
        # TCP_NODELAY, Nagle holds the second until the client's delayed ACK,
        # about 40 ms per answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.app.track(self.connection, True)

    def finish(self) -> None:
        self.app.track(self.connection, False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines only, and only on demand: headers (and keys) never reach a log.
        if self.app.log_requests:
            sys.stderr.write(f"[glm-local] {self.address_string()} {format % args}\n")

    def _record(self) -> RecordedRequest:
        raw = read_body(
            self.rfile,
            self.headers.get("Transfer-Encoding", ""),
            self.headers.get("Content-Length", ""),
        )
        body, self._body_is_bad_json = parse_body(raw)
        headers = redacted_headers(self.headers.items())
        path = self.path.split("?", 1)[0]
        self._record_ref = self.app.record(self.command, path, headers, body)
        self._headers = {}
        return self._record_ref

    def _send_json(
        self, status: int, payload: Any, *, headers: dict[str, str] | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else dumps(payload).encode()
        self._begin(status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _begin(self, status: int) -> None:
        """Send the status line of this request's answer, record its status, and send
        the headers every answer to this request carries (the rate limit's)."""
        if self._record_ref is not None:
            self._record_ref.status = status
        self.send_response(status)
        for name, value in self._headers.items():
            self.send_header(name, value)

    def _send_error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send_json(status, error_body(code, message), headers=headers)

    # routes --------------------------------------------------------------------

    def _refused(self) -> bool:
        """Answer 401 (Z.ai codes 1001/1002) when a key is required and not given."""
        refusal = self.app.check_key(self.headers.get("Authorization"))
        if refusal is not None:
            self._send_error(401, *refusal)
        return refusal is not None

    def do_GET(self) -> None:
        record = self._record()
        if self._refused():
            return
        if record.path.rstrip("/") == "/v1/models":
            self._send_json(200, model_list(self.app.models))
        elif record.path.startswith("/v1/models/"):
            model = record.path.removeprefix("/v1/models/")
            if model in self.app.models:
                limit = self.app.rate_limit
                published = limit.model_fields() if limit is not None else {}
                self._send_json(
                    200, {**model_detail(model, self.app.model_parameters), **published}
                )
            else:
                self._send_error(404, "1211", f"Unknown model {model!r}: check the model code.")
        elif record.path.rstrip("/") == "/v1/chat/completions":
            self._send_error(405, "405", "Method not allowed: POST a chat completion request.")
        else:
            self._send_error(404, "404", f"Not found: {record.path}")

    def do_POST(self) -> None:
        record = self._record()
        if self._refused():
            return
        wire = FORMATS.get(record.path.rstrip("/"))
        if wire is None:
            self._send_error(404, "404", f"Not found: {record.path}")
            return
        try:
            self._answer(record, wire)
        except _Aborted:
            self.close_connection = True
        except OSError:
            self.close_connection = True
            self._mark_gone()

    def _reject_method(self) -> None:
        self._record()
        if self._refused():
            return
        self._send_error(405, "405", f"Method {self.command} not allowed on {self.path}.")

    do_PUT = do_DELETE = do_PATCH = _reject_method

    # answers -------------------------------------------------------------------

    def _answer(self, record: RecordedRequest, wire: ProtocolFormat) -> None:
        """Check the request and its rate limit, then answer in the route's ``wire`` format."""
        app, body = self.app, record.body
        problem = self._validate(body, wire.rules)
        if problem is not None:
            self._send_json(problem[0], wire.error_body(*problem))
            return
        view = wire.chat_view(body)
        prompt_tokens = estimate_prompt_tokens(view)
        admission = app.limiter.admit(app.rate_limit, prompt_tokens)
        self._headers = dict(admission.headers)
        if not admission.allowed:
            self._send_json(429, wire.error_body(429, RATE_LIMIT_CODE, admission.message))
            return
        try:
            self._reply(body, view, prompt_tokens, wire)
        finally:
            app.limiter.release()

    def _reply(
        self, body: dict[str, Any], view: dict[str, Any], prompt_tokens: int, wire: ProtocolFormat
    ) -> None:
        """Take the request's reply, count its tokens, and send it."""
        app = self.app
        reply = app.reply_for(view)
        app.limiter.charge(int(usage_for(reply, prompt_tokens).get("completion_tokens") or 0))
        if self._answered_early(reply, wire):
            return
        seed = f"{app.next_sequence()}\0{dumps(body)}"
        answer = Answer(
            reply,
            model=reply.model or body["model"],
            id=reply.id or wire.id_prefix + completion_id(seed),
            created=reply.created if reply.created is not None else int(time.time()),
            prompt_tokens=prompt_tokens,
        )
        if body.get("stream") is True:
            fragmented = reply.tool_stream
            if fragmented is None:
                fragmented = wire.fragments_by_default(body)
            events = wire.stream_events(answer, self._pacing.chunk_size, fragmented)
            frames = [(event.frame(reply.line_ending), event.pieces) for event in events]
            self._stream(reply, frames, wire.error_frame(reply))
        else:
            whole = dumps(wire.whole_body(answer), sort_keys=wire.sort_keys)
            self._send_whole(reply, whole.encode())

    def _validate(self, body: Any, rules: RequestRules) -> Problem | None:
        """The request's first problem, against this server's models and ranges."""
        if self._body_is_bad_json:
            return 400, "1214", "The request body is not valid JSON."
        app = self.app
        return validate_request(body, rules, models=app.models, parameters=app.model_parameters)

    def _answered_early(self, reply: Reply, wire: ProtocolFormat) -> bool:
        """Wait out the reply's latency, then send it if it is an error (in the route's
        shape) or a raw body. True when the answer was sent."""
        self._pacing = Pacing.of(self.app, reply)
        self._wait(self._pacing.latency)
        if reply.status != 200:
            extra = (
                {} if reply.retry_after is None else {"Retry-After": _seconds(reply.retry_after)}
            )
            self._send_json(
                reply.status, wire.error_body(reply.status, *reply.resolved_error()), headers=extra
            )
            return True
        if reply.raw_body is not None:
            self._send_raw(reply, reply.raw_body)
            return True
        return False

    def _send_whole(self, reply: Reply, payload: bytes) -> None:
        """A non-streamed answer, after the reply's first-token wait and faults."""
        self._wait(self._pacing.ttft)
        if reply.stall_after is not None:
            self._wait(reply.stall_seconds)
        if reply.disconnect_after is not None:
            self._drop()
        self._send_json(200, payload)

    def _send_raw(self, reply: Reply, raw: bytes) -> None:
        """Send a verbatim body, one SSE event per paced write when it is a stream.

        A raw body is a recorded Z.ai chat answer, so an injected in-stream error
        keeps the chat shape on every route.
        """
        content_type = reply.raw_content_type
        if content_type is None:
            content_type = JSON_CONTENT_TYPE if raw.lstrip()[:1] == b"{" else SSE_CONTENT_TYPE
        if not content_type.startswith("text/event-stream"):
            self._wait(self._pacing.ttft)
            self._send_json(200, raw)
            return
        frames = [(frame, 1) for frame in _RAW_EVENT.findall(raw)]
        self._stream(reply, frames, CHAT.error_frame(reply))

    # streaming -----------------------------------------------------------------

    def _stream(
        self, reply: Reply, frames: list[tuple[bytes, int]], error_frame: bytes | None
    ) -> None:
        """Write ``frames`` (bytes and token pieces) paced, with the reply's faults;
        ``error_frame`` is the reply's in-stream error, if it has one."""
        chunked = self.request_version == "HTTP/1.1"
        self._begin(200)
        self.send_header("Content-Type", SSE_CONTENT_TYPE)
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
        self.end_headers()
        self._chunked = chunked
        pacing, newline = self._pacing, reply.line_ending.encode()
        self._wait(pacing.ttft)
        due = time.monotonic()
        for index in range(len(frames) + 1):
            if reply.stall_after == index:
                self._wait(reply.stall_seconds)
                due = time.monotonic()
            if reply.malformed_after == index:
                sample = frames[min(index, len(frames) - 1)][0] if frames else b"data: {}"
                self._write(sample.rstrip(b"\r\n")[: max(8, len(sample) // 2)] + newline * 2)
            if error_frame is not None and reply.stream_error_after == index:
                self._write(error_frame)
                break
            if reply.disconnect_after == index:
                self._drop()
            if index == len(frames):
                break
            frame, pieces = frames[index]
            if index and pacing.seconds_per_piece and pieces:
                due += pieces * pacing.seconds_per_piece
                self._wait(due - time.monotonic())
            if reply.comments:
                self._write(b": keep-alive" + newline * 2)
            self._write(frame)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        if not reply.done:
            self.close_connection = True

    def _write(self, data: bytes) -> None:
        if self.app.stopping.is_set():
            raise _Aborted
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)
        except OSError:
            self._mark_gone()
            raise _Aborted from None

    def _mark_gone(self) -> None:
        if self._record_ref is not None and not self.app.stopping.is_set():
            self.app.mark_disconnected(self._record_ref)

    def _drop(self) -> None:
        """Hang up abruptly: no final chunk, so the client sees a truncated body."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _Aborted

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _wait(self, seconds: float) -> None:
        """Sleep, but give up at once when the server stops or the client leaves."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.app.stopping.wait(min(remaining, 0.02)):
                raise _Aborted
            if self._client_gone():
                self._mark_gone()
                raise _Aborted


def _seconds(value: str | float) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
