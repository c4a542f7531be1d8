"""nlu_bench serves a model as the bot is served: with its bot folder's channel, which
installs that folder's replacements of pieces of Rasa the parse runs through."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from benchmarks import nlu_bench
from tests.bot.rasa_venv import BOT, rasa_model


def test_a_compared_model_is_served_with_its_channel() -> None:
    # given the trained model, served by nlu_bench with this checkout's bot folder
    with nlu_bench._served(nlu_bench.rasa_bin(), Path(rasa_model()), BOT) as (url, _):
        # when the channel's health route and a parse are asked
        with urllib.request.urlopen(f"{url}/webhooks/atelier/", timeout=30) as answer:
            health = json.loads(answer.read())
        parsed = nlu_bench._post(f"{url}/model/parse", {"text": "hi"})
    # then the channel answers (it is loaded, and with it speed_up_rasa), and so does
    # the parse
    assert health == {"status": "ok"}
    assert parsed["intent"]["name"] == "greet"
