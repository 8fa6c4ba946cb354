"""The simulator's controls as these tests use them: fixture helpers, undone after each test."""

from __future__ import annotations

import contextlib
from typing import Any


class SandboxControl:
    """Wraps `scm_sandbox` so a test can change faults and settings inline.

    Every change is undone by `aclose()` (the `control` fixture calls it), so tests sharing
    the session's simulator do not see each other's faults.
    """

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self._undo = contextlib.AsyncExitStack()

    async def faults(self, **faults: Any) -> dict:
        """Replace the active faults (see app/sandbox/scm/faults.py for the knobs)."""
        return await self.sandbox.set_faults(**faults)

    async def clear_faults(self) -> None:
        await self.sandbox.clear_faults()

    async def settings(self, **changes: Any) -> dict:
        return await self._undo.enter_async_context(self.sandbox.settings(**changes))

    async def calls(self, key: str) -> int:
        """How often the simulator saw e.g. "GET /api/ssl/v1/types"."""
        return (await self.sandbox.counters())["callsByPath"].get(key, 0)

    async def enrollments_for(self, csr_pem: str) -> int:
        return await self.sandbox.enrollments_for(csr_pem)

    async def force_state(self, ssl_id: int, status: str) -> dict:
        return await self.sandbox.force_state(ssl_id, status)

    async def aclose(self) -> None:
        await self.sandbox.clear_faults()
        await self._undo.aclose()
