"""The SSE decoder on hand-made byte streams: line endings, UTF-8, fields."""

from __future__ import annotations

import json

import pytest

from glm_magics.wire.sse import ServerSentEvent, SSEDecoder


def decode_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.decode(chunk))
    events.extend(decoder.flush())
    return events


def every_split(body: bytes) -> list[list[bytes]]:
    return [[body[:i], body[i:]] for i in range(len(body) + 1)]


def test_line_separator_inside_json_survives() -> None:
    text = "a\u2028b\u2029c\x85d\x0ce\x1cf"
    body = b"data: " + json.dumps({"t": text}, ensure_ascii=False).encode() + b"\n\n"
    (event,) = decode_all([body])
    assert json.loads(event.data)["t"] == text


@pytest.mark.parametrize("split", range(1, 12))
def test_utf8_character_split_across_chunks(split: int) -> None:
    body = 'data: {"t":"olá 你好 😀"}\n\n'.encode()
    chunks = [body[i : i + split] for i in range(0, len(body), split)]
    (event,) = decode_all(chunks)
    assert json.loads(event.data)["t"] == "olá 你好 😀"


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_line_endings_at_every_split_point(ending: bytes) -> None:
    body = b"data: one" + ending + ending + b"data: two" + ending + ending
    for chunks in every_split(body):
        assert [e.data for e in decode_all(chunks)] == ["one", "two"], chunks


def test_comments_fields_and_multiline_data() -> None:
    body = (
        b": keep-alive\n"
        b"event: delta\n"
        b"id: 7\n"
        b"retry: 1500\n"
        b"data: first\n"
        b"data:second\n"
        b"\n"
        b": another comment\n\n"
        b"data: after\n\n"
    )
    first, second = decode_all([body])
    assert first == ServerSentEvent(data="first\nsecond", event="delta", id="7", retry=1500)
    assert second == ServerSentEvent(data="after", event="message", id="7", retry=None)


def test_blank_lines_without_data_dispatch_nothing_and_bom_is_dropped() -> None:
    assert [e.data for e in decode_all([b"\xef\xbb\xbfdata: x\n\n\n\n"])] == ["x"]
    assert decode_all([b"event: ping\n\n"]) == []


def test_flush_dispatches_unterminated_last_event() -> None:
    assert [e.data for e in decode_all([b"data: [DONE]"])] == ["[DONE]"]
    assert [e.data for e in decode_all([b"data: x\n"])] == ["x"]


def test_field_without_colon_and_bad_retry_are_ignored() -> None:
    (event,) = decode_all([b"data\nretry: soon\nid: a\x00b\n\n"])
    assert event.data == ""
    assert event.retry is None and event.id is None
