"""What the actions say to a shopper is in the domain's responses, where the merchant can
edit and translate it, and Rasa fills those responses in as the action tests expect.

The actions are read as code (``ast``): a sentence written in an action is found without
running it, and so is a response the domain lacks or a variable an action does not give.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from tests.actions.responses import domain_responses, said, variables
from tests.bot.rasa_venv import rasa_python

REPO = Path(__file__).resolve().parents[2]
ACTIONS = REPO / "actions"

WRITTEN_IN_CODE = {
    ("faq_routing.py", "say_answer"): "the answer is the merchant's FAQ text, said as "
                                      "written (it is edited in the FAQ files, and Rasa's "
                                      "filling would garble an answer containing \"0[\")",
}
"""``utter_message(text=…)`` allowed here, and why: (module, function) → reason."""

RESPONSE_CHOSEN_ELSEWHERE = {
    ("checkout.py", "validate_shipping_address"): "the problem parse_address found",
    ("discovery.py", "show_results"): "the intro its caller chose (search_replies.Said)",
    ("handoff.py", "hand_off"): "the handoff message its caller chose",
    ("order_changes.py", "ask"): "the question its caller chose",
    ("order_changes.py", "change"): "cancelled() or the return's confirmation",
}
"""``utter_message(response=<not a literal>)`` allowed here: the names come from literals
elsewhere in the module (checked below to be responses) and the action tests render each
message, failing on a variable not given."""

RESERVED = {"text", "image", "json_message", "template", "response", "attachment", "buttons",
            "elements", "custom"}
"""``utter_message`` arguments that are not variables of the response."""


def _calls() -> list[tuple[str, str, ast.Call]]:
    """Every ``….utter_message(…)`` of the actions: (module, enclosing function, call)."""
    found = []
    for path in sorted(ACTIONS.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "utter_message"):
                    found.append((str(path.relative_to(ACTIONS)), function.name, node))
    return found


def _literals(node: ast.expr) -> list[str] | None:
    """The names a ``response=`` may take: a string, or a conditional of strings."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _where(module: str, call: ast.Call) -> str:
    return f"actions/{module}:{call.lineno}"


def test_actions_say_nothing_written_in_code() -> None:
    # given every message an action sends
    calls = _calls()
    assert len(calls) > 50, "the actions' messages were not found"
    # then none carries a sentence of its own, but where listed with a reason
    written = sorted(f"{_where(module, call)} in {function}()"
                     for module, function, call in calls
                     if any(k.arg == "text" for k in call.keywords)
                     and (module, function) not in WRITTEN_IN_CODE)
    assert written == [], "say it with a domain response (utter_message(response=…)):\n" \
        + "\n".join(written)
    unused = set(WRITTEN_IN_CODE) - {(m, f) for m, f, c in calls
                                     if any(k.arg == "text" for k in c.keywords)}
    assert unused == set(), f"exceptions no longer needed: {unused}"


def test_every_response_an_action_names_is_in_the_domain_with_its_variables() -> None:
    responses = domain_responses()
    problems = []
    dynamic = set()
    for module, function, call in _calls():
        keywords = {k.arg: k.value for k in call.keywords}
        if "response" not in keywords:
            continue
        names = _literals(keywords["response"])
        if names is None:
            dynamic.add((module, function))
            if (module, function) not in RESPONSE_CHOSEN_ELSEWHERE:
                problems.append(f"{_where(module, call)}: the response is not a literal")
            continue
        given = set(keywords) - RESERVED - {None}
        for name in names:
            if name not in responses:
                problems.append(f"{_where(module, call)}: {name} is not in the domain")
                continue
            needed = set().union(*(variables(v.get("text", "")) for v in responses[name]))
            if None not in keywords and needed - given:  # None: **values, see above
                problems.append(f"{_where(module, call)}: {name} needs "
                                f"{sorted(needed - given)}")
    assert problems == [], "\n".join(problems)
    assert dynamic == set(RESPONSE_CHOSEN_ELSEWHERE), "update RESPONSE_CHOSEN_ELSEWHERE"


RASA_KEYS = {"utter_action"}
"""Strings of the actions that are Rasa's, not responses: the key of a bot event's metadata
naming the response it said."""


def test_every_response_name_written_in_the_actions_is_in_the_domain() -> None:
    # the names passed around before an utter_message (intros, problems, questions)
    responses = domain_responses()
    named = {(path.name, node.value) for path in ACTIONS.rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and node.value.startswith("utter_")}
    assert len(named) > 50
    assert sorted(n for n in named if n[1] not in {*responses, *RASA_KEYS}) == []
    # a return offered for personalised pieces adds the note that they come back only faulty
    offered = {n for _, n in named if n.startswith("utter_offer_return")}
    assert offered and all(f"{n}_personalised" in responses for n in offered)


RASA_SAYS = """
import asyncio, json, sys
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

domain = Domain.load("domain")
tracker = DialogueStateTracker.from_events("shopper", [], slots=domain.slots)
nlg = TemplatedNaturalLanguageGenerator(domain.responses)
messages = json.load(sys.stdin)
uttered = asyncio.run(RemoteAction._utter_responses(messages, CollectingOutputChannel(), nlg,
                                                   tracker))
with open(sys.argv[1], "w") as out:
    json.dump([{"text": u.text, "buttons": u.data.get("buttons") or []} for u in uttered], out)
"""


def test_rasa_fills_the_responses_as_the_action_tests_do(tmp_path: Path) -> None:
    # given a message for every response with variables, as the action server sends it,
    # with values a shopper or a merchant might write (braces, quotes, several lines)
    dispatcher = CollectingDispatcher()
    for name, variants in sorted(domain_responses().items()):
        needed = sorted(set().union(*(variables(v.get("text", "")) for v in variants)))
        if needed:
            dispatcher.utter_message(
                response=name, buttons=[{"title": "Yes", "payload": "/affirm"}],
                **{v: f'{v} "{{x}}" été\n2 × 9.50 EUR' for v in needed})
    messages = json.loads(json.dumps(dispatcher.messages))
    assert len(messages) > 40
    # when Rasa utters them as it does an action's answer
    out = tmp_path / "uttered.json"
    result = subprocess.run([rasa_python(), "-c", RASA_SAYS, str(out)],
                            input=json.dumps(messages),
                            cwd=REPO / "bot", capture_output=True, text=True, timeout=300,
                            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    assert result.returncode == 0, result.stderr[-3000:]
    uttered: list[dict[str, Any]] = json.loads(out.read_text())
    # then the shopper reads what the action tests expect, every variable filled
    expected = [{"text": m["text"], "buttons": m["buttons"]} for m in said(messages)]
    assert uttered == expected
    assert not any("{" in u["text"].replace('"{x}"', "") for u in uttered)
