"""The trained NLU model on the held-out set (bot/nlu_eval/), and the set's independence.

The model under test is ATELIER_TEST_RASA_MODEL (trained by setup from bot/ and nlu_data/),
served once by ``rasa run --enable-api`` for the whole module.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HELDOUT = REPO / "bot" / "nlu_eval" / "heldout.yml"
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|\{[^}]*\})")
# Measured with the chosen pipeline (bot/config.yml, fallback included): served intent
# accuracy 0.960 (0.945 before the nearest-lines blend, 0.872 with the n-gram-only
# pipeline), entity F1 0.960; 0.950 with the ask_recommendation intent (12 of its 13
# held-out lines right). The same code, pins and data, trained and served on another CPU
# (an AVX2-only machine, no AVX-512), give 0.938: each machine's model is deterministic,
# but the encoder's and the solver's floating point differ between CPUs, and a few
# borderline messages change intent. The floor leaves room for that.
MIN_INTENT_ACCURACY = 0.93
MIN_ENTITY_F1 = 0.92


def _examples(path: Path) -> list[tuple[str, str, set[tuple[str, str]]]]:
    """(plain text, intent, {(entity, text)}) of every intent example in a YAML file."""
    out = []
    for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            raw = line.strip()[2:].strip()
            if raw:
                entities = {(m["entity"], m["text"]) for m in ANNOTATION.finditer(raw)
                            if m["entity"]}
                out.append((ANNOTATION.sub(lambda m: m["text"], raw), block["intent"],
                            entities))
    return out


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w@.'’ ]", " ", text.lower()).split())


def _training_examples() -> list[tuple[str, str, set[tuple[str, str]]]]:
    return [e for path in sorted((REPO / "nlu_data").rglob("*.yml")) for e in _examples(path)]


def test_heldout_messages_never_appear_in_the_training_data() -> None:
    trained = {_normalise(text) for text, _, _ in _training_examples()}
    heldout = _examples(HELDOUT)
    copied = [text for text, _, _ in heldout if _normalise(text) in trained]
    assert heldout and not copied, f"held-out lines also in nlu_data/: {copied}"


def test_every_intent_has_enough_training_and_heldout_examples() -> None:
    trained = Counter(intent for _, intent, _ in _training_examples())
    heldout = Counter(intent for _, intent, _ in _examples(HELDOUT))
    domain = [intent for path in sorted((REPO / "bot" / "domain").glob("*.yml"))
              for intent in yaml.safe_load(path.read_text()).get("intents", [])]
    untrained = {"nlu_fallback", "handback"}
    short = {i: (trained[i], heldout[i]) for i in domain if i not in untrained
             and (trained[i] < 45 or heldout[i] < 12)}
    assert not short, f"intents with fewer than 45 training / 12 held-out examples: {short}"
    assert set(trained) <= set(domain) and set(heldout) <= set(domain)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _served_env() -> dict[str, str]:
    """As a deployment runs Rasa: the pipeline's own components importable from bot/, and
    no encoder outside the model (training copied it in)."""
    env = {k: v for k, v in os.environ.items() if k != "ATELIER_NLU_ENCODER_DIR"}
    path = os.pathsep.join(p for p in [str(REPO / "bot"), env.get("PYTHONPATH", "")] if p)
    return {**env, "PYTHONPATH": path, "RASA_TELEMETRY_ENABLED": "false"}


@pytest.fixture(scope="module")
def parse(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    rasa, model = os.environ.get("ATELIER_TEST_RASA_BIN"), os.environ.get(
        "ATELIER_TEST_RASA_MODEL")
    if not rasa or not model:
        pytest.fail("ATELIER_TEST_RASA_BIN / ATELIER_TEST_RASA_MODEL are not set: run the "
                    "suite with 'make test'.", pytrace=False)
    port = _free_port()
    # Outside bot/: no endpoints.yml (no action server is needed to parse).
    workdir = tmp_path_factory.mktemp("rasa-nlu")
    log = (workdir / "rasa.log").open("w")
    server = subprocess.Popen(
        [rasa, "run", "--enable-api", "-i", "127.0.0.1", "--port", str(port), "-m", model],
        cwd=workdir, env=_served_env(),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def _parse(text: str) -> dict:
        request = urllib.request.Request(f"{url}/model/parse", json.dumps(
            {"text": text}).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"{url}/status", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("rasa run did not start: "
                                + (workdir / "rasa.log").read_text()[-2000:])
                time.sleep(0.5)
        yield _parse
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        log.close()


def test_heldout_intent_accuracy_and_entities(parse) -> None:
    # given the held-out messages, none of them trained on
    heldout = _examples(HELDOUT)
    # when the served model parses each of them
    right, found, expected, matched, misses = 0, 0, 0, 0, []
    for text, intent, entities in heldout:
        parsed = parse(text)
        if parsed["intent"]["name"] == intent:
            right += 1
        else:
            misses.append(f"{text!r}: {intent} → {parsed['intent']['name']}")
        predicted = {(e["entity"], text[e["start"]:e["end"]]) for e in parsed["entities"]}
        found, expected = found + len(predicted), expected + len(entities)
        matched += len(predicted & entities)
    # then intents and entity spans are mostly right (nlu_fallback counts as wrong)
    accuracy = right / len(heldout)
    precision, recall = matched / max(found, 1), matched / max(expected, 1)
    entity_f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    assert accuracy >= MIN_INTENT_ACCURACY, f"accuracy {accuracy:.3f}; misses: {misses}"
    assert entity_f1 >= MIN_ENTITY_F1, f"entity F1 {entity_f1:.3f}"


@pytest.mark.parametrize(("text", "wanted"), [
    ("where is my order AT-7K2M9Q?", {"order_number": "AT-7K2M9Q"}),
    ("status of at-9z8y7x please", {"order_number": "at-9z8y7x"}),
    ("you can reach me at anna.b+shop@example.co.uk", {"email": "anna.b+shop@example.co.uk"}),
    ("a blue mug under 60 euros", {"colour": "blue", "product_type": "mug",
                                   "budget": "under 60 euros"}),
    ("something between 20 and 40 euros", {"budget": "between 20 and 40 euros"}),
    ("cheap candles please", {"budget": "cheap", "category": "candles"}),
    ("make it 3", {"quantity": "3"}),
    ("i'll take two of them", {"quantity": "2"}),
    ("tell me more about the second one", {"ordinal": "second"}),
    ("add the 2nd one to my basket", {"ordinal": "second"}),
    ("gray wool scarves", {"colour": "grey", "material": "wool", "product_type": "scarf"}),
    ("jewelry for my mom", {"category": "jewellery", "recipient": "mum"}),
    ("engrave 'Love you Mum' on it", {"engraving_text": "Love you Mum"}),
])
def test_key_entities_are_extracted_and_normalised(parse, text: str,
                                                   wanted: dict[str, str]) -> None:
    entities = {e["entity"]: e["value"] for e in parse(text)["entities"]}
    assert {k: entities.get(k) for k in wanted} == wanted, entities


def test_no_ordinal_or_quantity_where_there_is_none(parse) -> None:
    for text in ["first time here, hello", "wait a second", "ring size 7",
                 "12 rue des Lilas, 75011 Paris, France", "it takes 3 days"]:
        entities = [e for e in parse(text)["entities"] if e["entity"] in ("ordinal", "quantity")]
        assert not entities, (text, entities)


@pytest.mark.parametrize(("text", "intent"), [
    # synonyms, money amounts and other shops' order numbers on after-sale requests
    ("i'm still waiting for a reimbursement of 120 euros", "request_refund"),
    ("expecting a rebate of 80 euros on my last order", "request_refund"),
    ("what's the ETA for order 550193384721?", "order_status"),
    ("any eta on parcel #552310", "order_status"),
    # a complaint, or a person asked for in anger, goes to a person
    ("i want to lodge a complaint about your service", "request_human"),
    ("how do I reach a damn human", "request_human"),
    # policy questions asked without an order are the FAQ's
    ("which payment options do u take", "faq"),
    ("is there a charge if i cancel my order early", "faq"),
    # order numbers and email addresses are codes: their letters never change the intent
    ("please cancel AT-JWDMC9", "cancel_order"),
    ("e2e-1a2b3c4d@example.com", "inform"),
    # everyday questions, even with money or a delivery in them, are not the shop's
    ("transfer 300 euros to my savings account", "out_of_scope"),
    ("track my uber eats delivery", "out_of_scope"),
    ("what's the mortgage rate at my bank at the moment", "out_of_scope"),
    # more synonyms, typos and long numbers
    ("where's the compensation of 45 euros you promised", "request_refund"),
    ("can i get a live agent on the chat", "request_human"),
    ("wen does my pakage arrive, order 20931847561", "order_status"),
])
def test_real_shoppers_phrasing_reaches_the_intended_intent(parse, text: str,
                                                            intent: str) -> None:
    assert parse(text)["intent"]["name"] == intent


@pytest.mark.parametrize(("text", "order_number"), [
    ("expecting a rebate of 80 euros on my last order", None),
    ("refund the 49.99 you charged twice", None),
    ("still waiting on the €250 compensation you owe me", None),
    ("what's the ETA for order 550193384721?", "550193384721"),
    ("any eta on parcel #552310", "#552310"),
])
def test_amounts_and_long_numbers_are_never_quantities(parse, text: str,
                                                       order_number: str | None) -> None:
    entities = parse(text)["entities"]
    assert [e for e in entities if e["entity"] == "quantity"] == [], entities
    numbers = [text[e["start"]:e["end"]] for e in entities if e["entity"] == "order_number"]
    assert numbers == ([order_number] if order_number else []), entities
