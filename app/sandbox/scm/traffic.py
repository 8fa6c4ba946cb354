"""ASGI middleware around every SCM call: count it, inject configured faults, persist changes."""

from __future__ import annotations

import asyncio
import random

from app.sandbox.scm.faults import (
    ENROLL_PATH,
    FaultRule,
    api_path,
    drop_connection,
    send_status,
    swallow,
)
from app.sandbox.scm.store import ScmStore


class TrafficMiddleware:
    def __init__(self, app, store: ScmStore) -> None:
        self.app = app
        self.store = store
        self.random = random.Random(store.config.random_seed)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = api_path(scope["path"])
        if path is None:  # /__sandbox and anything else: never faulted, never counted
            await self.app(scope, receive, send)
            await self.store.save_if_changed()
            return
        method = scope["method"]
        self.store.count_call(method, scope["path"])
        self.store.changed()
        try:
            await self._with_faults(method, path, scope, receive, send)
        finally:
            await self.store.save_if_changed()

    async def _with_faults(self, method: str, path: str, scope, receive, send) -> None:
        faults = self.store.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        rule = faults.take_rule(method, path)
        if rule and not rule.after:
            await self._fail_rule(rule, receive, send)
            return
        if rule is None and faults.targets(path) and await self._random_fault(receive, send):
            return
        is_enroll = method == "POST" and path == ENROLL_PATH
        if rule is None and is_enroll and faults.drop_after_enroll_count > 0:
            faults.drop_after_enroll_count -= 1
            await self.app(scope, receive, swallow)
            drop = faults.drop_after_enroll_mode == "drop"
            await self._fail(drop, 502, None, receive, send)
            return
        if rule and rule.after:
            await self.app(scope, receive, swallow)
            await self._fail_rule(rule, receive, send)
            return
        await self.app(scope, receive, send)

    async def _random_fault(self, receive, send) -> bool:
        faults = self.store.faults
        if faults.drop_rate and self.random.random() < faults.drop_rate:
            await drop_connection(receive, send)
            return True
        if faults.rate_limit_rate and self.random.random() < faults.rate_limit_rate:
            await send_status(send, 429, faults.retry_after_seconds)
            return True
        if faults.error_rate and self.random.random() < faults.error_rate:
            await send_status(send, faults.error_status)
            return True
        return False

    async def _fail_rule(self, rule: FaultRule, receive, send) -> None:
        if rule.drop:
            await drop_connection(receive, send)
            return
        retry_after = rule.retry_after if rule.status != 429 else rule.retry_after or 1
        await send_status(send, rule.status, retry_after, rule.code, rule.description)

    @staticmethod
    async def _fail(drop: bool, status: int, retry_after: int | None, receive, send) -> None:
        if drop:
            await drop_connection(receive, send)
        else:
            await send_status(send, status, retry_after if status != 429 else retry_after or 1)
