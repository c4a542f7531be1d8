"""Abuse limits: per-conversation and per-address rate limits (in process and in Redis),
and the Origin allow-list of the widget's shop sites."""

from __future__ import annotations

import asyncio

import pytest
from starlette.websockets import WebSocketDisconnect

from channels.limits import MemoryBuckets, Rate, RateLimited, RateLimiter, RedisBuckets
from tests.channels.conftest import Gateway
from tests.channels.fake_rasa import FakeRasa
from tests.channels.web_chat import chat_body, chat_socket, owner, recorded


def say(client, conversation_id: str, text: str = "hi"):  # type: ignore[no-untyped-def]
    return client.post("/api/chat", json=chat_body(conversation_id, text))


def test_a_conversation_over_its_limit_gets_a_clear_429(gateway: Gateway,
                                                        fake_rasa: FakeRasa) -> None:
    with gateway(rate_conversation_burst=3, rate_conversation_per_minute=1) as client:
        assert [say(client, "c-fast").status_code for _ in range(3)] == [200, 200, 200]
        refused = say(client, "c-fast", "one more")
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited"
        assert "too quickly" in error["message"] and int(refused.headers["Retry-After"]) >= 1
        # the refused message was neither recorded nor forwarded; others are not affected
        texts = [m["text"] for m in recorded(client, "c-fast")]
        assert "one more" not in texts and fake_rasa.messages("c-fast") == ["hi"] * 3
        assert say(client, "c-other").status_code == 200


def test_one_address_is_limited_across_its_conversations(gateway: Gateway) -> None:
    with gateway(rate_ip_burst=4, rate_ip_per_minute=1) as client:
        codes = [say(client, f"c-{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]


def test_the_widget_socket_gets_an_error_frame_for_the_message_over_the_limit(
        gateway: Gateway) -> None:
    with gateway(rate_conversation_burst=1, rate_conversation_per_minute=1) as client, \
            chat_socket(client, "c-ws") as ws:
        ws.send_json({"type": "message", "text": "first", "client_id": "k1"})
        assert [ws.receive_json()["type"] for _ in range(4)] == ["typing", "message",
                                                                 "message", "typing"]
        ws.send_json({"type": "message", "text": "second", "client_id": "k2"})
        frames = [ws.receive_json() for _ in range(3)]
        assert frames[1]["type"] == "error" and frames[1]["code"] == "rate_limited"
        assert frames[1]["client_id"] == "k2"


async def _shared_limit(url: str, prefix: str) -> list[bool]:
    # two replicas, each with its own connection, count against one bucket
    replicas = [RateLimiter(buckets=RedisBuckets(url, prefix), conversation=Rate(1, 3),
                            ip=Rate(60, 100)) for _ in range(2)]
    allowed = []
    try:
        for i in range(5):
            try:
                await replicas[i % 2].check(conversation_id="c-shared", ip="203.0.113.9")
                allowed.append(True)
            except RateLimited:
                allowed.append(False)
    finally:
        for limiter in replicas:
            await limiter.aclose()
    return allowed


def test_redis_buckets_are_shared_by_replicas(redis_url: str, redis_prefix: str) -> None:
    assert asyncio.run(_shared_limit(redis_url, redis_prefix)) == [True, True, True,
                                                                   False, False]


async def _notices(limiters: list[RateLimiter], messages: int) -> list[str]:
    """What each message gets, sent in turn through the limiters: ok, notice or dropped."""
    outcomes = []
    for i in range(messages):
        limiter = limiters[i % len(limiters)]
        try:
            await limiter.check(conversation_id="c-notice", ip=None)
            outcomes.append("ok")
        except RateLimited as exc:
            told = await limiter.first_refusal("c-notice", exc)
            outcomes.append("notice" if told else "dropped")
    return outcomes


def test_one_notice_per_burst_in_process() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        # a token every 0.5 s, two at once: the bucket is full again after 1 s
        limiter = RateLimiter(buckets=MemoryBuckets(), conversation=Rate(120, 2),
                              ip=Rate(60, 100))
        first = await _notices([limiter], 5)
        await asyncio.sleep(1.1)
        return first, await _notices([limiter], 4)

    first, later = asyncio.run(scenario())
    assert first == ["ok", "ok", "notice", "dropped", "dropped"]
    assert later == ["ok", "ok", "notice", "dropped"]  # a new burst is told again


def test_one_notice_per_burst_across_redis_replicas(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> list[str]:
        replicas = [RateLimiter(buckets=RedisBuckets(redis_url, redis_prefix),
                                conversation=Rate(1, 2), ip=Rate(60, 100)) for _ in range(2)]
        try:
            return await _notices(replicas, 6)
        finally:
            for limiter in replicas:
                await limiter.aclose()

    assert asyncio.run(scenario()) == ["ok", "ok", "notice", "dropped", "dropped", "dropped"]


def test_a_bucket_refills_at_its_rate() -> None:
    async def scenario() -> tuple[float, float]:
        buckets = MemoryBuckets()
        rate = Rate(per_minute=6000, burst=1)  # one token every 10 ms
        assert await buckets.take("k", rate) == 0
        wait = await buckets.take("k", rate)
        await asyncio.sleep(0.05)
        return wait, await buckets.take("k", rate)

    wait, later = asyncio.run(scenario())
    assert 0 < wait <= 0.01 and later == 0


# --- Origin allow-list -------------------------------------------------------------------

SHOP = "https://shop.example"


def test_the_widget_socket_is_refused_on_a_site_not_allowed(gateway: Gateway) -> None:
    with gateway(widget_origins=SHOP) as client:
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(
                "/ws/chat?conversation_id=c-o", headers={"origin": "https://evil.example"}
        ) as ws:
            frame = ws.receive_json()
            assert (frame["type"], frame["code"]) == ("error", "origin_not_allowed")
            ws.receive_json()
        assert closed.value.code == 1008
        for i, allowed in enumerate((SHOP, "http://testserver", "http://localhost:8000")):
            with chat_socket(client, f"c-ok{i}", headers={"origin": allowed}) as ws:
                ws.send_json({"type": "message", "text": "hi", "client_id": "k"})
                assert ws.receive_json()["type"] == "typing"


def test_chat_api_cors_follows_the_allow_list(gateway: Gateway) -> None:
    with gateway(widget_origins=f"{SHOP}, https://www.shop.example") as client:
        ok = client.post("/api/chat", json=chat_body("c-cors", "hi"),
                         headers={"origin": "https://www.shop.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://www.shop.example"
        preflight = client.options("/api/chat", headers={
            "origin": SHOP, "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == SHOP
        assert {"content-type", "x-conversation-secret", "x-customer-token"} <= {
            h.strip() for h in preflight.headers["access-control-allow-headers"].split(",")}
        evil = client.post("/api/chat", json=chat_body("c-cors", "x"),
                           headers={"origin": "https://evil.example"})
        assert evil.status_code == 403
        assert evil.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in evil.headers
        history = client.get("/api/chat/c-cors/history", headers=owner("c-cors")).json()
        assert [m["text"] for m in history if m["role"] == "shopper"] == ["hi"]
        # no Origin: not a web page (scripts, servers), not a cross-site risk
        assert say(client, "c-cors").status_code == 200
