"""When the SCM client may try an idempotent call again, and how long it waits first."""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.issuers.scm.errors import (
    ScmCaUnavailableError,
    ScmError,
    ScmRateLimitedError,
    ScmServerError,
    ScmTransportError,
)

RETRYABLE = (ScmRateLimitedError, ScmServerError, ScmTransportError, ScmCaUnavailableError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter, honouring Retry-After up to a cap.

    `attempts` counts every try including the first. A Retry-After longer than
    `max_retry_after` is not waited out here: the error goes up so the caller (a job with its
    own schedule) can come back later instead of holding a worker.
    """

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, error: ScmError) -> float | None:
        """Seconds to wait before try number `attempt + 1`, or None to give up."""
        if attempt >= self.attempts or not isinstance(error, RETRYABLE):
            return None
        if isinstance(error, ScmRateLimitedError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            # A little jitter on top so many waiting clients do not return in lockstep.
            return error.retry_after + random.uniform(0, self.base_delay)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


NO_RETRY = RetryPolicy(attempts=1)
