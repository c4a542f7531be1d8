"""Every refusal of the gateway is one error type, rendered by one handler."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channels.chat import ChatInputError
from channels.errors import GatewayError, install_gateway_error_handler
from channels.handoff.state import TransitionError
from channels.identity import IdentityError
from channels.limits import RateLimited
from channels.web.ownership import OwnershipError

REFUSALS: dict[str, GatewayError] = {
    "too-long": ChatInputError("message_too_long", "That message is too long."),
    "too-fast": RateLimited(2.2),
    "reserved": IdentityError("reserved_conversation_id", "Not that id."),
    "token": IdentityError("invalid_customer_token", "That token is not valid."),
    "stranger": OwnershipError("conversation_not_owned", "Not yours.", 403),
    "down": OwnershipError("chat_unavailable", "Try again shortly.", 503),
    "gone": TransitionError("conversation_not_found", "There is no such conversation."),
    "taken": TransitionError("conversation_changed", "Someone else took it."),
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_gateway_error_handler(app)

    @app.get("/refuse/{name}")
    def refuse(name: str) -> None:
        raise REFUSALS[name]

    return TestClient(app)


@pytest.mark.parametrize(("name", "status"), [
    ("too-long", 422), ("too-fast", 429), ("reserved", 422), ("token", 401),
    ("stranger", 403), ("down", 503), ("gone", 404), ("taken", 409)])
def test_each_refusal_has_its_status_and_the_common_body(client: TestClient, name: str,
                                                          status: int) -> None:
    answer = client.get(f"/refuse/{name}")

    assert answer.status_code == status
    refusal = REFUSALS[name]
    assert answer.json() == {"error": {"code": refusal.code, "message": refusal.message}}


def test_a_rate_limit_says_when_to_come_back_and_is_no_input_error(client: TestClient) -> None:
    answer = client.get("/refuse/too-fast")

    assert answer.headers["Retry-After"] == "3"
    assert "3 s" in answer.json()["error"]["message"]
    assert not isinstance(REFUSALS["too-fast"], ChatInputError)


def test_only_a_rate_limit_carries_retry_after(client: TestClient) -> None:
    for name in REFUSALS.keys() - {"too-fast"}:
        assert "Retry-After" not in client.get(f"/refuse/{name}").headers
