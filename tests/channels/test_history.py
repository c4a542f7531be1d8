import asyncio

import pytest

from channels.delivery.history import History, MemoryHistory, RedisHistory
from channels.messages import ChatMessage


async def _exercise(history: History) -> None:
    first = await history.append("conv-1", ChatMessage(role="shopper", text="hi"))
    second = await history.append("conv-1", ChatMessage(role="bot", text="hello"))
    await history.append("conv-2", ChatMessage(role="shopper", text="other"))
    assert first.seq is not None and second.seq == first.seq + 1
    assert [m.text for m in await history.since("conv-1", 0)] == ["hi", "hello"]
    assert [m.text for m in await history.since("conv-1", first.seq)] == ["hello"]
    assert await history.since("conv-1", second.seq) == []
    assert await history.since("unknown", 0) == []


def test_memory_history_orders_and_replays() -> None:
    asyncio.run(_exercise(MemoryHistory(limit=50)))


def test_memory_history_sequence_survives_a_restart() -> None:
    async def run() -> tuple[int, int]:
        before = await MemoryHistory(50).append("c", ChatMessage(role="bot", text="a"))
        await asyncio.sleep(0.01)
        after = await MemoryHistory(50).append("c", ChatMessage(role="bot", text="b"))
        return before.seq or 0, after.seq or 0

    before, after = asyncio.run(run())
    assert after > before


def test_redis_history_orders_replays_and_caps(redis_url: str, redis_prefix: str) -> None:
    async def run() -> None:
        history = RedisHistory(redis_url, redis_prefix, limit=3)
        try:
            await _exercise(history)
            for i in range(5):
                await history.append("conv-3", ChatMessage(role="bot", text=str(i)))
            assert [m.text for m in await history.since("conv-3", 0)] == ["2", "3", "4"]
            # a second replica sees the same history
            other = RedisHistory(redis_url, redis_prefix, limit=3)
            assert [m.text for m in await other.since("conv-1", 0)] == ["hi", "hello"]
            await other.aclose()
        finally:
            await history.aclose()

    asyncio.run(run())


def test_redis_history_keys_live_under_the_prefix(redis_url: str, redis_prefix: str) -> None:
    import redis

    async def run() -> None:
        history = RedisHistory(redis_url, redis_prefix, limit=10)
        await history.append("c", ChatMessage(role="shopper", text="x"))
        await history.aclose()

    asyncio.run(run())
    client = redis.Redis.from_url(redis_url)
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{redis_prefix}:*"))
    client.close()
    assert keys == [f"{redis_prefix}:conv:c:log", f"{redis_prefix}:conv:c:seq"]


@pytest.mark.parametrize("after", [0, 10**15])
def test_memory_history_since_with_any_cursor(after: int) -> None:
    async def run() -> list[ChatMessage]:
        history = MemoryHistory(10)
        await history.append("c", ChatMessage(role="bot", text="x"))
        return await history.since("c", after)

    assert len(asyncio.run(run())) == (1 if after == 0 else 0)
