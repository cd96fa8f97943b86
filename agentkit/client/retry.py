"""The one retry policy of both clients: pure decisions, no I/O, no clock of its own.

The send loops ask ``RetryPolicy.decide`` after every failed attempt and do what it says:
raise, or sleep the returned delay and try again. Everything that decides lives here:
which failures are retried, the server's ``Retry-After`` / ``retry-after-ms`` wish (capped),
exponential backoff with jitter, the request's deadline, and "never after the first chunk".
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from datetime import timezone

from agentkit._checks import check_seconds
from agentkit._record import record
from agentkit.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    UserError,
)

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "RetryPolicy",
    "deadline_error",
    "is_deadline_error",
    "retry_after",
]

BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 8.0
RETRY_STATUSES = frozenset({408, 409, 429})


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """The delay the server asked for via ``retry-after-ms`` or ``Retry-After``, if any.

    ``Retry-After`` may be seconds or an HTTP date; ``now`` is the wall clock for the latter.
    """
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            # An HTTP date is always UTC; the asctime form (and "-0000") parses as naive,
            # which .timestamp() would read in the machine's local zone.
            when = when.replace(tzinfo=timezone.utc)
        value = when.timestamp() - (time.time() if now is None else now)
        return max(value, 0.0)
    return value if math.isfinite(value) and value >= 0 else None


def deadline_error(
    cause: BaseException | None = None,
    *,
    wait: float | None = None,
    left: float | None = None,
    asked: float | None = None,
) -> APITimeoutError:
    """The error of a request that its deadline ended.

    Without ``wait`` the deadline passed. With it, the deadline has not passed yet but the
    retry after ``cause`` would wait ``wait`` s, more than the ``left`` s before it, so it
    is not attempted; ``asked`` is the server's ``Retry-After`` wish, if that set the wait.
    The last failure is also the error's ``__cause__``.
    """
    detail = f" (last failure: {cause})" if cause is not None else ""
    if wait is None or left is None:
        message = f"The request's deadline passed{detail}"
    else:
        if asked is None:
            why = f"its backoff would wait {wait:.3g} s"
        elif asked > wait:
            why = f"the server asked to wait {asked:.3g} s (capped at {wait:.3g} s)"
        else:
            why = f"the server asked to wait {wait:.3g} s"
        message = (
            f"The request was not retried: {why}, more than the {max(left, 0):.3g} s left "
            f"before its deadline{detail}"
        )
    err = APITimeoutError(message)
    err._deadline = True  # type: ignore[attr-defined]
    if cause is not None:
        err.__cause__ = cause
        err.__suppress_context__ = True
    return err


def is_deadline_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the error of a request that its deadline ended (``deadline_error``)."""
    return isinstance(exc, APITimeoutError) and getattr(exc, "_deadline", False) is True


@record(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before retrying a failed request.

    Attributes:
        max_retries: Retries after the first attempt.
        max_retry_delay: The longest wait honoured from ``Retry-After`` (and backoff's cap).
        backoff_initial: The first backoff delay; it doubles per retry up to ``backoff_max``.
        backoff_max: The longest backoff delay.
        jitter: The fraction of a backoff delay taken off at random (0.25: up to 25 %).
    """

    max_retries: int = 2
    max_retry_delay: float = 60.0
    backoff_initial: float = BACKOFF_INITIAL
    backoff_max: float = BACKOFF_MAX
    jitter: float = 0.25

    def __post_init__(self) -> None:
        # A bad value would otherwise surface only at the first retry, as a raw
        # TypeError or a negative sleep.
        count = self.max_retries
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise UserError(f"max_retries must be an int >= 0, not {count!r}")
        for name in ("max_retry_delay", "backoff_initial", "backoff_max"):
            check_seconds(name, getattr(self, name), zero=True)
        jitter = self.jitter
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter <= 1:
            raise UserError(f"jitter must be a fraction from 0 to 1, not {jitter!r}")

    @staticmethod
    def retryable(err: APIError) -> bool:
        """Whether a failure of this kind may succeed when tried again."""
        if isinstance(err, APIStatusError):
            if err.status_code is None:  # an error object inside a stream
                return isinstance(err, (RateLimitError, InternalServerError))
            return err.status_code in RETRY_STATUSES or err.status_code >= 500
        if isinstance(err, APIConnectionError):
            return getattr(err, "_transient", True)
        return False

    def delay(self, attempt: int, headers: Mapping[str, str] | None, rand: float) -> float:
        """Seconds to wait before retry ``attempt + 1``: the server's wish, else backoff.

        ``rand`` is a uniform random number in [0, 1) drawn by the caller (for jitter).
        """
        asked = retry_after(headers)
        if asked is not None:
            return min(asked, self.max_retry_delay)
        backoff = min(self.backoff_initial * 2.0**attempt, self.backoff_max)
        return min(backoff * (1 - self.jitter * rand), self.max_retry_delay)

    def decide(
        self,
        err: APIError,
        attempt: int,
        *,
        headers: Mapping[str, str] | None = None,
        rand: float = 0.0,
        now: float = 0.0,
        deadline: float | None = None,
        delivered: bool = False,
    ) -> float | APIError:
        """After attempt ``attempt`` (0-based) failed with ``err``: a delay, or the error to raise.

        ``delivered`` says a stream already handed a chunk to the caller (it cannot be
        resumed). A retry whose wait would reach ``deadline`` is not attempted: the answer
        is then an ``APITimeoutError`` saying so (``deadline_error``), whose ``__cause__``
        is ``err``.
        """
        if delivered or attempt >= self.max_retries or not self.retryable(err):
            return err
        wait = self.delay(attempt, headers, rand)
        if deadline is not None and now + wait >= deadline:
            asked = retry_after(headers)
            return deadline_error(err, wait=wait, left=deadline - now, asked=asked)
        return wait
