"""The model's graph run without dask (bot/atelier_graph.py) against Rasa 3.6's own run of
it, on the trained model: the same parse of each message (intent, ranking, entities) and
the same next action and policy for the conversation it starts."""

from __future__ import annotations

from tests.bot.rasa_venv import in_rasa, rasa_model

SAME_RUNS = """
import asyncio, json, sys
import dask
from rasa.core.agent import load_agent
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
import atelier_graph

TEXTS = ["hi", "show me blue ceramic mugs", "cheaper", "add the first one to my cart",
         "what is your return policy?", "zorp flim flam", "I want to talk to a person",
         "a gift for my sister, she likes blue, under 60 euros", "where is my order 1234?"]
asked = []
dask_get = dask.get
dask.get = lambda *args, **kwargs: asked.append(1) or dask_get(*args, **kwargs)

async def answers(agent):
    asked.clear()
    found = []
    for text in TEXTS:
        parsed = await agent.parse_message(text)
        tracker = DialogueStateTracker.from_events("c", [
            ActionExecuted("action_listen"),
            UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed)],
            agent.domain.slots)
        prediction = agent.processor.predict_next_with_tracker(tracker)
        prediction.pop("tracker")  # the conversation asked about, with its own times
        found.append({"parsed": parsed, "next": prediction})
    return json.loads(json.dumps(found, default=str)), len(asked)

async def main():
    agent = await load_agent(model_path=sys.argv[1])
    by_dask, dask_runs = await answers(agent)
    atelier_graph.install()
    ours, our_dask_runs = await answers(agent)
    print(json.dumps({"same": ours == by_dask,
                      "policies": [a["next"]["policy"] for a in ours],
                      "dask runs": [dask_runs, our_dask_runs],
                      "intents": [a["parsed"]["intent"]["name"] for a in ours]}))

asyncio.run(main())
"""


def test_the_graph_gives_what_rasa_gives_without_dask() -> None:
    found = in_rasa(SAME_RUNS, rasa_model())
    assert found["same"], found
    assert found["intents"][:2] == ["greet", "search_product"]
    assert all(policy for policy in found["policies"])
    # dask ran each graph before; now none
    assert found["dask runs"][0] >= 18 and found["dask runs"][1] == 0
