"""Optional state file: the whole simulator state as one JSON document in a SQLite table."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from app.sandbox.scm.records import SavedState


class StateFile:
    """Load once at start, save after every request that changed something."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path)
        connection.execute("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY, body TEXT)")
        return connection

    def load(self) -> SavedState | None:
        with self._connect() as connection:
            row = connection.execute("SELECT body FROM state WHERE id = 1").fetchone()
        connection.close()
        return SavedState.model_validate_json(row[0]) if row else None

    def _write(self, body: str) -> None:
        connection = self._connect()
        with connection:
            connection.execute("INSERT OR REPLACE INTO state (id, body) VALUES (1, ?)", (body,))
        connection.close()

    async def save(self, state: SavedState) -> None:
        # Serialise on the event loop (the state is only touched there), write in a thread.
        body = state.model_dump_json()
        async with self._lock:
            await asyncio.to_thread(self._write, body)
