"""Which failures of an action make Rasa's channel drop the turn (bot/atelier_channel.py),
checked in Rasa's own environment on the exceptions Rasa 3.6 raises.

Only an action server that could not be reached or answered drops the turn (the message
is sent again later). One that answered with an error of its own (a bug in an action,
500) does not: a resend would fail the same way, forever.
"""

from __future__ import annotations

from tests.bot.rasa_venv import in_rasa

CHECK = """
import asyncio, json, aiohttp
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError
from atelier_channel import action_server_unreachable

def as_rasa_raises(error):
    # RemoteAction.run wraps the HTTP failure in a RasaException
    try:
        try:
            raise error
        except Exception as exc:
            raise RasaException("Failed to execute custom action") from exc
    except RasaException as exc:
        return exc

cases = {
    "connection refused": aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 5055, False, None, None, None, None),
        ConnectionRefusedError(111, "refused")),
    "dropped mid-request": aiohttp.ServerDisconnectedError(),
    "timed out": asyncio.TimeoutError(),
    "a proxy's 502": ClientResponseError(502, "Bad Gateway", ""),
    "a proxy's 503": ClientResponseError(503, "Service Unavailable", ""),
    "the action failed (500)": ClientResponseError(500, "Internal Server Error", "{}"),
    "unknown action (404)": ClientResponseError(404, "Not Found", "{}"),
    "a bug in Rasa": ValueError("bug"),
}
print(json.dumps({name: action_server_unreachable(as_rasa_raises(error))
                  for name, error in cases.items()}))
"""


def test_only_an_action_server_that_did_not_answer_drops_the_turn() -> None:
    assert in_rasa(CHECK) == {
        "connection refused": True, "dropped mid-request": True, "timed out": True,
        "a proxy's 502": True, "a proxy's 503": True, "the action failed (500)": False,
        "unknown action (404)": False, "a bug in Rasa": False}


CHECK_ANSWERS = """
import json
from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from atelier_channel import AtelierInput

answers = {
    "events and responses": {"events": [{"event": "slot", "name": "budget", "value": 60}],
                             "responses": [{"response": "utter_greet"}]},
    "nothing": {},
    "an event without its name": {"events": [{"name": "budget", "value": 60}]},
    "an unknown event": {"events": [{"event": "no_such_event"}]},
    "responses that are no list": {"responses": {"text": "hi"}},
    "a slot without its value": {"events": [{"event": "slot", "name": "budget"}]},
    "an event that is no object": {"events": ["slot"]},
    "an event named by a number": {"events": [{"event": 7}]},
    "events that are no list": {"events": {"event": "bot"}},
    "a form's events": {"events": [
        {"event": "active_loop", "name": "preferences_form"},
        {"event": "slot", "name": "requested_slot", "value": "budget", "timestamp": None},
        {"event": "bot", "text": "What budget?", "metadata": {"utter_action": "x"}},
        {"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0}]},
    "a user event whose entity has no value": {"events": [
        {"event": "user", "text": "blue", "parse_data": {"entities": [{"entity": "colour"}]}}]},
}

def verdicts():
    found, messages = {}, {}
    for name, answer in answers.items():
        try:
            valid = RemoteAction("action_x", None)._validate_action_result(answer)
            found[name] = "ok" if valid else "?"
        except ValidationError as error:
            found[name] = ("refused" if error.message.endswith("/custom-actions")
                           else error.message)
            messages[name] = error.message
    return found, messages

def schema_never_checked(*args, **kwargs):
    raise AssertionError("the schema was checked again")

before, messages_before = verdicts()
AtelierInput("identity-secret-for-tests")
for checker in validators._VALIDATORS.values():
    checker.check_schema = schema_never_checked
after, messages_after = verdicts()
print(json.dumps({"before": before, "after": after, "messages_before": messages_before,
                  "messages_after": messages_after}))
"""


def test_the_channel_checks_action_answers_as_rasa_does_but_the_schema_only_once() -> None:
    found = in_rasa(CHECK_ANSWERS)
    # the same answers pass and are refused, with Rasa's very message, once the channel
    # is set up, without the schema itself being checked again for each answer
    assert found["after"] == found["before"] == {
        "events and responses": "ok", "nothing": "ok", "an event without its name": "refused",
        "an unknown event": "refused", "responses that are no list": "refused",
        "a slot without its value": "refused", "an event that is no object": "refused",
        "an event named by a number": "refused", "events that are no list": "refused",
        "a form's events": "ok", "a user event whose entity has no value": "refused"}
    assert found["messages_after"] == found["messages_before"]


UNDERSTOOD = """
import json
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from atelier_channel import understood

def turn(intent, action, earlier=()):
    return DialogueStateTracker.from_events("c", [
        *earlier, ActionExecuted("action_listen"), UserUttered("words", {"name": intent}),
        ActionExecuted(action), ActionExecuted("action_listen")])

fell_back = [ActionExecuted("action_listen"), UserUttered("zorp", {"name": "nlu_fallback"}),
             ActionExecuted("action_fallback")]
print(json.dumps({
    "greeted": understood(turn("greet", "utter_greet")),
    "nlu fallback": understood(turn("nlu_fallback", "action_fallback")),
    "core fallback": understood(turn("affirm", "action_default_fallback")),
    "understood after a fallback": understood(turn("greet", "utter_greet", fell_back)),
}))
"""


def test_the_channel_says_a_turn_that_fell_back_was_not_understood() -> None:
    assert in_rasa(UNDERSTOOD) == {
        "greeted": True, "nlu fallback": False, "core fallback": False,
        "understood after a fallback": True}


CHECK_BLAS = """
import json
import numpy
from threadpoolctl import threadpool_info, threadpool_limits
from atelier_channel import AtelierInput

def blas_threads():
    return sorted({pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "blas"})

threadpool_limits(limits=2, user_api="blas")  # as OpenBLAS starts on a 2-core machine
before = blas_threads()
AtelierInput(identity_secret="s" * 32)
print(json.dumps({"before": before, "after": blas_threads()}))
"""


def test_a_rasa_process_multiplies_matrices_on_one_thread() -> None:
    threads = in_rasa(CHECK_BLAS)
    assert threads == {"before": [2], "after": [1]}
