"""Model schemas: each payload shape, the fallback, and the cache against the local server."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from glm_magics.core.client import GLMClient
from glm_magics.errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    ParameterError,
)
from glm_magics.testing import LocalGLMServer
from glm_magics.testing.wire import MODEL_PARAMETERS, model_detail
from glm_magics.wire.model_schema import NEGATIVE_TTL, ModelSchema, SchemaCache
from glm_magics.wire.params import CONTEXT_WINDOW, RANGES, Range

MODEL = "glm-4-7-flash"
UNREACHABLE = "http://127.0.0.1:9/v1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """A stand-in client: answers with ``payload`` or raises ``error``, counting calls."""

    def __init__(
        self,
        payload: Mapping[str, Any] | None = None,
        error: Exception | None = None,
        base_url: str = "http://fake/v1",
    ) -> None:
        self.payload = payload or {}
        self.error = error
        self.calls: list[str] = []
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        return self._base_url

    def model_info(self, model: str) -> Mapping[str, Any]:
        self.calls.append(model)
        if self.error is not None:
            raise self.error
        return self.payload


# -- payload shapes ----------------------------------------------------------------


def test_the_local_servers_shape() -> None:
    schema = ModelSchema.from_payload(MODEL, model_detail(MODEL))
    assert schema.source == "service"
    assert schema.model == MODEL
    assert schema.context_window == MODEL_PARAMETERS["context_window"]
    assert schema.ranges["temperature"] == Range(0.0, 1.0, 1.0)
    assert schema.ranges["top_p"] == Range(0.01, 1.0, 0.95)
    assert schema.ranges["max_tokens"] == Range(1, 131072, 4096, integer=True)


def test_a_narrower_published_range_is_used() -> None:
    payload = {"parameters": {"temperature": {"min": 0.0, "max": 0.8, "default": 0.6}}}
    schema = ModelSchema.from_payload(MODEL, payload)
    assert schema.ranges["temperature"] == Range(0.0, 0.8, 0.6)
    assert schema.ranges["top_p"] == RANGES["top_p"]  # not published: built-in
    assert schema.context_window == CONTEXT_WINDOW


def test_the_list_shape() -> None:
    payload = {
        "id": MODEL,
        "parameters": [
            {"name": "temperature", "minimum": 0, "maximum": 1, "default": 1},
            {"name": "max_tokens", "minimum": 1, "maximum": 65536, "default": 2048},
            {"name": "context_window", "default": 128000},
            {"minimum": 0, "maximum": 5},  # nameless: ignored
            "junk",
        ],
    }
    schema = ModelSchema.from_payload(MODEL, payload)
    assert schema.source == "service"
    assert schema.ranges["temperature"] == Range(0.0, 1.0, 1.0)
    assert schema.ranges["max_tokens"] == Range(1, 65536, 2048, integer=True)
    assert schema.context_window == CONTEXT_WINDOW  # a dict is not a context size


def test_the_json_schema_shape_at_the_top_or_under_parameters() -> None:
    properties = {
        "temperature": {"type": "number", "minimum": 0.1, "maximum": 0.9, "default": 0.5},
        "top_p": {"type": "number", "minimum": 0.5, "maximum": 1},
    }
    for payload in (
        {"properties": properties},
        {"parameters": {"type": "object", "properties": properties}},
    ):
        schema = ModelSchema.from_payload(MODEL, payload)
        assert schema.ranges["temperature"] == Range(0.1, 0.9, 0.5)
        # No default published: the built-in one, as it lies inside the range.
        assert schema.ranges["top_p"] == Range(0.5, 1.0, 0.95)
        assert schema.source == "service"


def test_context_window_spellings() -> None:
    assert ModelSchema.from_payload(MODEL, {"max_model_len": 32768}).context_window == 32768
    assert ModelSchema.from_payload(MODEL, {"context_length": 65536.0}).context_window == 65536
    schema = ModelSchema.from_payload(MODEL, {"parameters": {"context_window": 100}})
    assert (schema.context_window, schema.source) == (100, "service")


def test_a_partial_range_is_completed_from_the_built_in_one() -> None:
    schema = ModelSchema.from_payload(MODEL, {"parameters": {"max_tokens": {"max": 8192}}})
    # The built-in default (4096) still fits, so it is kept.
    assert schema.ranges["max_tokens"] == Range(1, 8192, 4096, integer=True)
    schema = ModelSchema.from_payload(MODEL, {"parameters": {"max_tokens": {"max": 1024}}})
    assert schema.ranges["max_tokens"] == Range(1, 1024, 1, integer=True)


def test_unknown_parameters_are_kept_when_they_make_sense() -> None:
    payload = {
        "parameters": {
            "presence_penalty": {"min": -2, "max": 2, "default": 0},
            "top_k": {"type": "integer", "min": 1, "max": 100},
            "mystery": {"default": 3},
        }
    }
    schema = ModelSchema.from_payload(MODEL, payload)
    assert schema.ranges["presence_penalty"] == Range(-2.0, 2.0, 0.0)
    assert schema.ranges["top_k"] == Range(1, 100, 1, integer=True)
    assert "mystery" not in schema.ranges


@pytest.mark.parametrize(
    "spec",
    [
        {"min": "0", "max": "1"},
        {"min": 2.0, "max": 1.0},
        {"min": float("nan"), "max": 1.0},
        {"min": 0.0, "max": float("inf")},
        {"min": True, "max": False},
        {"min": None, "max": None},
        {},
        [0, 1],
        0.5,
        None,
    ],
)
def test_nonsense_ranges_are_ignored(spec: object) -> None:
    schema = ModelSchema.from_payload(MODEL, {"parameters": {"temperature": spec}})
    assert schema.ranges["temperature"] == RANGES["temperature"]
    assert schema.source == "built-in"


def test_an_integer_parameter_with_fractional_bounds_is_ignored() -> None:
    schema = ModelSchema.from_payload(MODEL, {"parameters": {"max_tokens": {"max": 10.5}}})
    assert schema.ranges["max_tokens"] == RANGES["max_tokens"]


def test_a_default_outside_the_range_is_replaced() -> None:
    payload = {"parameters": {"temperature": {"min": 0.0, "max": 0.5, "default": 7}}}
    assert ModelSchema.from_payload(MODEL, payload).ranges["temperature"] == Range(0.0, 0.5, 0.0)


@pytest.mark.parametrize(
    "payload",
    [
        {"id": MODEL, "object": "model", "created": 1, "owned_by": "library"},
        {"parameters": "none"},
        {"parameters": None},
        {"context_window": -5, "max_model_len": True},
        [],
        "text",
        None,
    ],
)
def test_payloads_without_ranges_give_the_built_in_schema(payload: object) -> None:
    assert ModelSchema.from_payload(MODEL, payload) == ModelSchema.builtin(MODEL)


def test_builtin() -> None:
    schema = ModelSchema.builtin("glm-4.7-flash")
    assert (schema.model, schema.source) == ("glm-4.7-flash", "built-in")
    assert schema.ranges == RANGES
    assert schema.ranges is not RANGES  # a copy, so RANGES cannot be changed through it
    assert schema.context_window == CONTEXT_WINDOW


# -- check -------------------------------------------------------------------------


def test_check_accepts_values_inside_the_ranges() -> None:
    schema = ModelSchema.from_payload(MODEL, model_detail(MODEL))
    schema.check({"temperature": 0.2, "top_p": 1, "max_tokens": 10, "stop": ["x"]})
    schema.check({"temperature": None})


def test_check_names_the_published_schema() -> None:
    payload = {"parameters": {"temperature": {"min": 0.0, "max": 0.8, "default": 0.6}}}
    schema = ModelSchema.from_payload(MODEL, payload)
    with pytest.raises(ParameterError) as info:
        schema.check({"temperature": 0.9})
    assert str(info.value) == (
        "temperature must be between 0 and 0.8 (default 0.6), got 0.9; this range comes "
        "from the published schema of model 'glm-4-7-flash'"
    )


def test_check_with_the_built_in_schema_speaks_like_build_params() -> None:
    with pytest.raises(ParameterError) as info:
        ModelSchema.builtin(MODEL).check({"temperature": 1.5})
    assert str(info.value) == "temperature must be between 0 and 1 (default 1), got 1.5"


def test_check_type_errors_do_not_blame_the_schema() -> None:
    schema = ModelSchema.from_payload(MODEL, model_detail(MODEL))
    with pytest.raises(ParameterError) as info:
        schema.check({"max_tokens": "many"})
    assert str(info.value) == "max_tokens must be a number, got 'many'"


def test_check_whole_numbers() -> None:
    schema = ModelSchema.from_payload(MODEL, model_detail(MODEL))
    with pytest.raises(ParameterError, match="whole number"):
        schema.check({"max_tokens": 10.5})


# -- the cache with fakes ----------------------------------------------------------


def test_a_published_schema_is_asked_for_once() -> None:
    source = FakeSource(model_detail(MODEL))
    cache = SchemaCache()
    first = cache.get(source, MODEL)
    assert cache.get(source, MODEL) is first
    assert first.source == "service"
    assert source.calls == [MODEL]


def test_keys_are_base_url_and_model() -> None:
    cache = SchemaCache()
    one = FakeSource(model_detail(MODEL), base_url="http://one/v1")
    two = FakeSource(model_detail(MODEL), base_url="http://two/v1")
    cache.get(one, MODEL)
    cache.get(one, "glm-4.7-flash")
    cache.get(two, MODEL)
    cache.get(one, MODEL)
    assert (one.calls, two.calls) == ([MODEL, "glm-4.7-flash"], [MODEL])


def test_a_failure_is_remembered_for_ten_minutes() -> None:
    clock = FakeClock()
    source = FakeSource(error=APIConnectionError("down"))
    cache = SchemaCache(clock=clock)
    assert cache.get(source, MODEL) == ModelSchema.builtin(MODEL)
    clock.now += NEGATIVE_TTL - 1
    cache.get(source, MODEL)
    assert len(source.calls) == 1
    clock.now += 1
    source.error, source.payload = None, model_detail(MODEL)
    assert cache.get(source, MODEL).source == "service"
    assert len(source.calls) == 2
    clock.now += 10 * NEGATIVE_TTL
    cache.get(source, MODEL)
    assert len(source.calls) == 2  # a published schema does not expire


def test_the_negative_ttl_is_adjustable() -> None:
    clock = FakeClock()
    source = FakeSource(error=AuthenticationError("no", status_code=401))
    cache = SchemaCache(negative_ttl=5, clock=clock)
    cache.get(source, MODEL)
    clock.now += 5
    cache.get(source, MODEL)
    assert len(source.calls) == 2


def test_a_missing_key_is_not_remembered() -> None:
    source = FakeSource(error=ConfigurationError("No API key"))
    cache = SchemaCache()
    assert cache.get(source, MODEL) == ModelSchema.builtin(MODEL)
    source.error, source.payload = None, model_detail(MODEL)
    assert cache.get(source, MODEL).source == "service"
    assert len(source.calls) == 2


def test_a_misconfigured_base_url_gives_the_built_in_schema() -> None:
    class Broken(FakeSource):
        @property
        def base_url(self) -> str:
            raise ConfigurationError("base URL 'x' is not an http(s) URL")

    source = Broken(model_detail(MODEL))
    assert SchemaCache().get(source, MODEL) == ModelSchema.builtin(MODEL)
    assert source.calls == []


def test_other_exceptions_are_not_swallowed() -> None:
    with pytest.raises(RuntimeError):
        SchemaCache().get(FakeSource(error=RuntimeError("bug")), MODEL)


def test_clear_forgets_everything() -> None:
    source = FakeSource(model_detail(MODEL))
    cache = SchemaCache()
    cache.get(source, MODEL)
    cache.clear()
    cache.get(source, MODEL)
    assert len(source.calls) == 2


# -- the cache against the real local server ---------------------------------------


@pytest.fixture
def server(local_server: LocalGLMServer) -> Iterator[LocalGLMServer]:
    local_server.clear()
    yield local_server
    local_server.clear()


def detail_requests(server: LocalGLMServer, model: str) -> int:
    return sum(1 for r in server.requests if r.method == "GET" and r.path == f"/v1/models/{model}")


def test_service_schema_from_the_local_server_is_cached(server: LocalGLMServer) -> None:
    cache = SchemaCache()
    with GLMClient(base_url=server.base_url) as client:
        schema = cache.get(client, MODEL)
        assert cache.get(client, MODEL) is schema
    assert schema.source == "service"
    assert schema.ranges["max_tokens"] == Range(1, 131072, 4096, integer=True)
    assert schema.context_window == 200000
    assert detail_requests(server, MODEL) == 1


def test_an_unknown_model_falls_back_and_is_not_asked_again_soon(
    server: LocalGLMServer,
) -> None:
    clock = FakeClock()
    cache = SchemaCache(clock=clock)
    with GLMClient(base_url=server.base_url) as client:
        assert cache.get(client, "no-such-model") == ModelSchema.builtin("no-such-model")
        clock.now += NEGATIVE_TTL / 2
        cache.get(client, "no-such-model")
        assert detail_requests(server, "no-such-model") == 1
        clock.now += NEGATIVE_TTL / 2
        cache.get(client, "no-such-model")
    assert detail_requests(server, "no-such-model") == 2


def test_an_unreachable_server_falls_back() -> None:
    clock = FakeClock()
    cache = SchemaCache(clock=clock)
    with GLMClient(base_url=UNREACHABLE, max_retries=0) as client:
        assert cache.get(client, MODEL) == ModelSchema.builtin(MODEL)
        assert cache.get(client, MODEL) == ModelSchema.builtin(MODEL)


def test_concurrent_callers_share_one_request(server: LocalGLMServer) -> None:
    cache = SchemaCache()
    results: list[ModelSchema] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        with GLMClient(base_url=server.base_url) as client:
            barrier.wait()
            results.append(cache.get(client, MODEL))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 8
    assert all(schema is results[0] for schema in results)
    assert detail_requests(server, MODEL) == 1
