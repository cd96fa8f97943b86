"""Questions about asyncio asked without importing it, so a sync program never loads it.

asyncio costs about a tenth of ``import httpx, pydantic``; agentkit's sync paths (and its
import) do without it. An exception cannot be asyncio's, nor a loop be running, unless
asyncio has been imported, so ``sys.modules`` answers each question for free. Async code
imports asyncio where it runs: by then it is loaded, and the import is a lookup.
"""

from __future__ import annotations

import sys

__all__ = ["is_cancellation", "is_timeout", "loop_running"]


def loop_running() -> bool:
    """Whether an asyncio event loop is running in this thread."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is asyncio's ``CancelledError``."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a ``TimeoutError`` (asyncio's is a class of its own before 3.11)."""
    if isinstance(exc, TimeoutError):
        return True
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.TimeoutError)
