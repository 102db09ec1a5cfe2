"""Every error glm-magics raises, each with a message that says what to do.

::

    GLMError
    ├── ConfigurationError          no API key, bad base URL, bad setting
    ├── ParameterError (ValueError) a parameter outside the documented range
    ├── JSONAnswerError (ValueError) JSON mode, but the answer is not valid JSON
    ├── ToolLoopError               tool calls went on past the round limit
    ├── CassetteError               a cassette could not replay or record
    │   ├── CassetteMissError       replaying, and this request was never recorded
    │   └── CassetteSecretError     an entry held a key or token: not written
    └── APIError                    anything that went wrong talking to the service
        ├── APIStatusError          an HTTP error status; carries status_code, code, message
        │   ├── BadRequestError           400 (and 422)
        │   ├── AuthenticationError       401
        │   ├── PermissionDeniedError     403
        │   ├── NotFoundError             404
        │   ├── RateLimitError            429 (codes 1302, 1303, 1305, ...)
        │   │   └── QuotaExceededError    429 that waiting will not fix (1113, 1304)
        │   └── InternalServerError       5xx
        ├── APIConnectionError      could not connect, or the connection broke
        │   └── APITimeoutError     no answer within the timeout
        ├── StreamError             a 200 stream that went wrong
        │   ├── InStreamError       an ``{"error": ...}`` payload inside the stream
        │   └── TruncatedStreamError the stream ended without a finish_reason
        └── ContentFilteredError    finish_reason "sensitive" or business code 1301

``code`` is the service's business code (a string such as ``"1302"``), ``None`` when
the service sent none. Errors raised after part of an answer arrived carry it in
``partial`` (a :class:`~glm_magics.results.ChatResult`) so it is not lost.

This module is the bottom of the package: it imports nothing else of it, so every
layer can raise these errors.
"""

from __future__ import annotations

import re
from typing import Protocol

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CassetteError",
    "CassetteMissError",
    "CassetteSecretError",
    "ConfigurationError",
    "ContentFilteredError",
    "GLMError",
    "InStreamError",
    "InternalServerError",
    "JSONAnswerError",
    "NotFoundError",
    "ParameterError",
    "PartialAnswer",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "StreamError",
    "ToolLoopError",
    "TruncatedStreamError",
]

#: Business codes that mean "wait and try again".
RATE_LIMIT_CODES = frozenset({"1302", "1303", "1305"})
#: Business codes that mean "waiting will not help": balance or daily quota.
QUOTA_CODES = frozenset({"1113", "1304"})
#: What a 429 that carries no business code says when waiting will not help (the
#: Messages protocol's error bodies have a type, not Z.ai's code): balance, quota, limit.
QUOTA_WORDS = re.compile(
    r"(?i)\b(?:insufficient balance|balance is too low|recharge|quota|credit|"
    r"daily (?:call )?limit|resource package)"
)
#: Business code for content the service's safety system blocked.
CONTENT_FILTER_CODE = "1301"


class PartialAnswer(Protocol):
    """What had arrived when an error struck: a :class:`~glm_magics.results.ChatResult`.

    Declared here by its fields, so that this module needs nothing above it.
    """

    text: str
    reasoning: str
    model: str
    finish_reason: str | None
    interrupted: bool


class GLMError(Exception):
    """Base class of every glm-magics error."""


class ConfigurationError(GLMError):
    """A setting is missing or wrong (no API key, malformed base URL...)."""


class ParameterError(GLMError, ValueError):
    """A request parameter is outside what the service documents."""


class JSONAnswerError(GLMError, ValueError):
    """JSON mode was on but the answer does not parse; ``text`` keeps the raw answer."""

    def __init__(self, message: str, *, text: str) -> None:
        super().__init__(message)
        self.text = text


class ToolLoopError(GLMError):
    """The model kept asking for tool calls past the round limit; ``partial`` is the last
    answer."""

    def __init__(self, message: str, *, partial: PartialAnswer | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class CassetteError(GLMError):
    """A cassette (a recorded lesson) could not replay or record an answer."""


class CassetteMissError(CassetteError):
    """Replaying, and this request is not in the cassette; nothing was sent."""


class CassetteSecretError(CassetteError):
    """An answer to record held the API key or a token: the entry was not written."""


class APIError(GLMError):
    """Talking to the service failed."""

    def __init__(self, message: str, *, partial: PartialAnswer | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial


class APIStatusError(APIError):
    """The service answered with an HTTP error status."""

    hint = "Check the request and try again."

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        partial: PartialAnswer | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.service_message = message
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(self._compose(), partial=partial)

    def _compose(self) -> str:
        label = f"HTTP {self.status_code}" + (f", code {self.code}" if self.code else "")
        text = self.service_message.strip() or "no details given"
        wait = (
            f" The service asks to wait {self.retry_after:.0f} s before trying again."
            if self.retry_after
            else ""
        )
        return f"{text} ({label}).{wait} {self.hint}"


class BadRequestError(APIStatusError):
    """400: the service rejected the request itself."""

    hint = "Check the parameters (`%glm config`) and the prompt, then run the cell again."


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or expired."""

    hint = (
        "Check the API key: set EMPIRIOLABS_API_KEY before starting Jupyter, "
        "or run `%glm key` to enter it for this session."
    )


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not use this model or feature."""

    hint = (
        "This key may not use this model or feature: pick another model with -m "
        "or check the account."
    )


class NotFoundError(APIStatusError):
    """404: wrong base URL or unknown model."""

    hint = "Check the base URL (`%glm config base_url=...`) and the model id (`%glm models`)."


class RateLimitError(APIStatusError):
    """429: too many requests; retried automatically, then raised."""

    hint = "Too many requests for now: wait a little and run the cell again."


class QuotaExceededError(RateLimitError):
    """429 that waiting will not fix: out of balance or daily quota."""

    hint = "Waiting will not help: top up the account or raise its quota, then run the cell again."


class InternalServerError(APIStatusError):
    """5xx: the service failed; retried automatically, then raised."""

    hint = "The service had a problem: try again in a minute."


class APIConnectionError(APIError):
    """No connection, or it broke before an answer arrived."""


class APITimeoutError(APIConnectionError):
    """The service did not answer in time."""


class StreamError(APIError):
    """A streamed answer went wrong after the service accepted the request."""


class InStreamError(StreamError):
    """The service sent an ``{"error": ...}`` event inside a 200 stream."""

    def __init__(
        self, message: str, *, code: str | None = None, partial: PartialAnswer | None = None
    ) -> None:
        self.code = code
        self.service_message = message
        label = f" (code {code})" if code else ""
        super().__init__(
            f"The service stopped the answer with an error{label}: {message}. "
            "Run the cell again; if it keeps happening, shorten the prompt or lower max_tokens.",
            partial=partial,
        )


class TruncatedStreamError(StreamError):
    """The stream ended without a ``finish_reason``: the answer is incomplete."""


class ContentFilteredError(APIError):
    """The service's safety system blocked the prompt or the answer."""

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = CONTENT_FILTER_CODE,
        status_code: int | None = None,
        partial: PartialAnswer | None = None,
    ) -> None:
        self.code = code
        self.status_code = status_code
        detail = f" ({message.strip()})" if message.strip() else ""
        super().__init__(
            f"The service's content filter blocked this request or its answer{detail}. "
            "Rephrase the prompt and run the cell again.",
            partial=partial,
        )


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def status_error(
    status_code: int,
    message: str,
    code: str | None,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIError:
    """The right exception for an HTTP error status and business code."""
    if code == CONTENT_FILTER_CODE:
        return ContentFilteredError(message, code=code, status_code=status_code)
    cls: type[APIStatusError]
    if code in QUOTA_CODES or (code is None and status_code == 429 and QUOTA_WORDS.search(message)):
        cls = QuotaExceededError
    elif status_code >= 500:
        cls = InternalServerError
    else:
        cls = _STATUS_CLASSES.get(status_code, APIStatusError)
    return cls(
        message,
        status_code=status_code,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
    )
