"""A served parse (``POST /model/parse``, and the parse of each chat turn) as Rasa 3.6 gives
it, with less work: the domain's emptiness asked once (bot/atelier_parse.py), the
sentence vectors of short messages and the classifier's answers for them remembered
(bot/atelier_nlu), on the trained model and every message of the evaluation sets
(bot/nlu_eval/)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.bot.rasa_venv import BOT, in_rasa, rasa_env, rasa_model, rasa_python
from tests.bot.test_nlu_realistic import evaluator

EVAL_SETS = sorted((BOT / "nlu_eval").glob("*.yml"))

DOMAIN_CHECK = """
import asyncio, json, sys, warnings
from rasa.core.agent import load_agent
from rasa.shared.core.domain import Domain
import atelier_parse

asked = []
is_empty = Domain.is_empty
Domain.is_empty = lambda self: asked.append(1) or is_empty(self)
TEXTS = ["hi", "show me blue ceramic mugs", "where is my order 1234?", "cheaper"]

async def parses(agent, domain):
    agent.processor.domain = domain
    asked.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for text in TEXTS:
            await agent.parse_message(text)
    return {"asked": len(asked), "warnings": sorted(str(w.message) for w in caught)}

async def main():
    agent = await load_agent(model_path=sys.argv[1])
    trained = agent.processor.domain
    narrow = Domain.from_dict({"intents": ["goodbye"], "entities": ["colour"]})
    domains = [trained, narrow, Domain.empty(), trained]
    rasas = [await parses(agent, domain) for domain in domains]
    atelier_parse.install()
    ours = [await parses(agent, domain) for domain in domains]
    print(json.dumps({"rasa": rasas, "ours": ours}))

asyncio.run(main())
"""


def test_the_domain_is_asked_once_and_unknown_names_are_still_warned_of() -> None:
    # given the trained model, its processor's domain switched between the trained one, a
    # narrow one lacking most intents and entities, an empty one and the trained one again
    found = in_rasa(DOMAIN_CHECK, rasa_model())
    rasa, ours = found["rasa"], found["ours"]
    # then Rasa asks whether the domain is empty at every parse
    assert [run["asked"] for run in rasa] == [4, 4, 4, 4]
    # and with the check installed, once per domain the processor is given
    assert [run["asked"] for run in ours] == [1, 1, 1, 1]
    # and the same warnings are given: none for the trained or the empty domain, one per
    # intent or entity the narrow domain lacks
    assert [run["warnings"] for run in ours] == [run["warnings"] for run in rasa]
    assert ours[0]["warnings"] == ours[2]["warnings"] == ours[3]["warnings"] == []
    assert any("'greet'" in w for w in ours[1]["warnings"])
    assert any("'product_type'" in w for w in ours[1]["warnings"])


SAME_PARSES = """
import asyncio, json, sys
from rasa.core.agent import load_agent
import atelier_parse
from atelier_nlu.encoder import CACHED_CHARS
from atelier_nlu.ngrams import canonical

texts = json.loads(open(sys.argv[2]).read())

async def main():
    agent = await load_agent(model_path=sys.argv[1])
    components = {type(node._component).__name__: node._component
                  for node in agent.processor.graph_runner._instantiated_nodes.values()
                  if hasattr(node, "_component")}
    encoder = components["SentenceEmbeddingFeaturizer"]._encoder
    classifier = components["SentenceIntentClassifier"]
    runs, answers = [], []
    session_run, probabilities = encoder._session.run, classifier.probabilities
    encoder._session.run = lambda *a, **k: runs.append(1) or session_run(*a, **k)
    classifier.probabilities = lambda m: answers.append(1) or probabilities(m)
    first = [await agent.parse_message(text) for text in texts]
    atelier_parse.install()
    again, repeated, repeated_runs, repeated_answers = [], [], 0, 0
    for text in texts:
        again.append(await agent.parse_message(text))
        runs_before, answers_before = len(runs), len(answers)
        repeated.append(await agent.parse_message(text))
        repeated_runs += len(runs) - runs_before
        repeated_answers += len(answers) - answers_before
    print(json.dumps({"first": first, "again": again, "repeated": repeated,
                      "repeated runs": repeated_runs, "repeated answers": repeated_answers,
                      "long encoded": sum(len(canonical(t)) > CACHED_CHARS for t in texts),
                      "long": sum(len(t) > CACHED_CHARS for t in texts)}))

asyncio.run(main())
"""


def test_every_evaluation_message_parses_the_same_when_remembered(tmp_path: Path) -> None:
    # given every message of the evaluation sets
    texts = [text for path in EVAL_SETS for text, _ in evaluator.read_set(path)]
    assert len(texts) > 2000 and len(EVAL_SETS) >= 3
    listed = tmp_path / "texts.json"
    listed.write_text(json.dumps(texts))
    # when the trained model parses them all (the domain checked as Rasa does), then each
    # twice in a row, the domain asked once
    result = subprocess.run([rasa_python(), "-c", SAME_PARSES, rasa_model(), str(listed)],
                            cwd=BOT, capture_output=True, text=True, timeout=900,
                            env=rasa_env())
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    # then a message asked again went through the encoder's graph and the classifier's
    # sums only if it was long
    assert 0 < found["long encoded"] < len(texts) / 2 and 0 < found["long"] < len(texts) / 2
    assert found["repeated runs"] == found["long encoded"]
    assert found["repeated answers"] == found["long"]
    # and every parse is the same: intent, confidences, ranking, entities
    for later in ("again", "repeated"):
        differ = [(a["text"], a["intent"], b["intent"])
                  for a, b in zip(found["first"], found[later], strict=True) if a != b]
        assert not differ, (later, differ[:5])
