"""The lean Redis lane the per-request rate limit goes through (app/redis_lane.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from app.http import buckets as buckets_module
from app.http.buckets import TokenBuckets
from app.redis_lane import RedisLane, _Incomplete, _parse
from tests.fixtures.app import REDIS_URL


def test_replies_are_parsed_whole_or_not_at_all() -> None:
    reply = b"*3\r\n:1\r\n$3\r\nabc\r\n*2\r\n+OK\r\n$-1\r\n"
    assert _parse(bytearray(reply), 0) == ([1, b"abc", [b"OK", None]], len(reply))
    for cut in range(1, len(reply)):
        with pytest.raises(_Incomplete):
            _parse(bytearray(reply[:cut]), 0)
    error, _ = _parse(bytearray(b"-ERR wrong\r\n"), 0)
    assert isinstance(error, ResponseError)


async def test_calls_made_together_share_the_lane_and_get_their_own_answers() -> None:
    redis = Redis.from_url(REDIS_URL)
    lane = RedisLane(REDIS_URL, redis)
    key = f"lane-test:{uuid.uuid4().hex}"
    try:
        answers = await asyncio.gather(*(lane.execute("INCR", key) for _ in range(50)))
        assert sorted(answers) == list(range(1, 51))
        assert await lane.execute("GET", key) == b"50"
        with pytest.raises(ResponseError):
            await lane.execute("NOSUCHCOMMAND")
        assert await lane.execute("DEL", key) == 1  # the lane is still in step after an error
    finally:
        await lane.aclose()
        await redis.aclose()


async def test_a_lost_connection_fails_the_call_and_the_next_reconnects() -> None:
    redis = Redis.from_url(REDIS_URL)
    lane = RedisLane(REDIS_URL, redis)
    try:
        assert await lane.execute("PING") == b"PONG"
        await redis.execute_command("CLIENT", "KILL", "ID", await lane.execute("CLIENT", "ID"))
        await asyncio.sleep(0.05)
        assert await lane.execute("PING") == b"PONG"  # on a new connection
        lane_id = await lane.execute("CLIENT", "ID")
        pending = lane.execute("BLPOP", f"lane-test:{uuid.uuid4().hex}", 5)
        waiting = asyncio.ensure_future(pending)
        await asyncio.sleep(0.05)
        await redis.execute_command("CLIENT", "KILL", "ID", lane_id)
        with pytest.raises(RedisConnectionError):
            await waiting
    finally:
        await lane.aclose()
        await redis.aclose()


async def test_a_redis_without_the_script_loads_it_and_a_database_is_selected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = REDIS_URL.rsplit("/", 1)[0] + "/3"
    redis = Redis.from_url(url)
    lane = RedisLane(url, redis)
    buckets = TokenBuckets(redis, f"lane-test-{uuid.uuid4().hex[:6]}", lane)
    try:
        # As after a Redis restart: EVALSHA answers NOSCRIPT (the shared server keeps its own).
        monkeypatch.setattr(buckets_module, "_SHA", "0" * 40)
        assert (await buckets.take("a", capacity=2, period=60)).allowed
        assert (await buckets.take("a", capacity=2, period=60)).allowed
        refused = await buckets.take("a", capacity=2, period=60)
        assert not refused.allowed and refused.retry_after >= 1
        assert await redis.exists(f"{buckets.prefix}:bucket:a") == 1  # in database 3
    finally:
        await redis.delete(f"{buckets.prefix}:bucket:a")
        await lane.aclose()
        await redis.aclose()


async def test_nothing_listening_is_a_connection_error() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0")
    lane = RedisLane("redis://127.0.0.1:1/0", redis)
    with pytest.raises(OSError):
        await lane.execute("PING")
    await redis.aclose()


async def test_the_outbox_nudge_through_the_lane_keeps_one_entry() -> None:
    from app.outbox import NUDGE_SUFFIX, nudge

    redis = Redis.from_url(REDIS_URL)
    lane = RedisLane(REDIS_URL, redis)
    queue = f"lane-test-{uuid.uuid4().hex[:6]}"
    try:
        for _ in range(3):
            await nudge(redis, queue, lane)
        assert await redis.lrange(queue + NUDGE_SUFFIX, 0, -1) == [b"1"]
        await nudge(redis, queue, RedisLane("redis://127.0.0.1:1/0", redis))  # down: swallowed
    finally:
        await redis.delete(queue + NUDGE_SUFFIX)
        await lane.aclose()
        await redis.aclose()


async def test_a_redis_that_does_not_answer_fails_the_call_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stalled Redis (here a socket that accepts and never replies) must not hold a request:
    the call fails after the lane's timeout, the nudge is skipped and the rate limit lets the
    request through."""
    from app import redis_lane
    from app.outbox import nudge

    monkeypatch.setattr(redis_lane, "TIMEOUT", 0.2)
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    redis = Redis.from_url(url)
    lane = RedisLane(url, redis)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(RedisConnectionError):
            await lane.execute("PING")
        await nudge(redis, "lane-test", lane)  # swallowed
        assert asyncio.get_running_loop().time() - started < 2
        assert len(held) == 2  # the stalled connection was dropped, the nudge opened another
    finally:
        await lane.aclose()
        await redis.aclose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
