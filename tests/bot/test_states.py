"""The states of a conversation replayed once per prediction (bot/atelier_states.py) against
Rasa 3.6's own, on the trained model: the same predictions, the same states for every
policy, and never the states of an earlier point of the conversation once it went on.
What it saves is measured by benchmarks, not here."""

from __future__ import annotations

from tests.bot.rasa_venv import in_rasa, rasa_model

SAME_PREDICTIONS = """
import asyncio, copy, json, logging, random, sys
from rasa.core.agent import load_agent
from rasa.core.test import _create_data_generator
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
import atelier_channel, atelier_states

logging.disable(logging.WARNING)

async def conversations(agent):
    written = [list(t.events) for t in
               _create_data_generator("tests", agent).generate_story_trackers()]
    parsed = []  # the same stories, each message as the NLU reads it (entities included)
    for events in written:
        story = []
        for event in events:
            if isinstance(event, UserUttered) and event.text:
                found = await agent.parse_message(event.text)
                event = UserUttered(event.text, found["intent"], found["entities"],
                                    parse_data=found)
            story.append(event)
        parsed.append(story)
    chance = random.Random(11)  # longer conversations: several stories one after the other
    chained = [[e for story in chance.sample(written + parsed, 5) for e in story]
               for _ in range(30)]
    return written + parsed + chained

def play(agent, events, rule_only):
    \"\"\"Predicts before each action of the story as the processor does: the tracker read
    afresh at each user message, the prediction's own events applied, the action logged
    as the prediction has it. Each policy's own prediction and states are kept too.\"\"\"
    events, domain = copy.deepcopy(events), agent.domain  # the events change in place
    nodes = agent.processor.graph_runner._instantiated_nodes
    policies = [nodes[name]._component for name in sorted(nodes) if "Policy" in name]
    tracker = DialogueStateTracker.from_events("c", [], domain.slots)
    found = []
    for i, event in enumerate(events):
        if isinstance(event, UserUttered):
            tracker = DialogueStateTracker.from_events("c", list(tracker.events),
                                                       domain.slots)
        if isinstance(event, ActionExecuted) and i:
            prediction = agent.processor._predict_next_with_tracker(tracker)
            each = [vars(policy.predict_action_probabilities(
                tracker, domain, rule_only_data=rule_only)) for policy in policies]
            states = [tracker.past_states(domain),
                      tracker.past_states(domain, ignore_rule_only_turns=True,
                                          rule_only_data=rule_only)]
            found.append(json.dumps([vars(prediction), states, each], default=str))
            tracker.update_with_events(prediction.events, domain, override_timestamp=False)
            if domain.action_names_or_texts[prediction.max_confidence_index] == \\
                    event.action_name:
                event.hide_rule_turn = prediction.hide_rule_turn
        tracker.update(event)
    return found

def played(agent, all_events, rule_only):
    return [line for events in all_events for line in play(agent, events, rule_only)]

async def main():
    agent = await load_agent(model_path=sys.argv[1])
    rasa_past_states = DialogueStateTracker.past_states
    rule_only = agent.processor.graph_runner._instantiated_nodes[
        "rule_only_data_provider"]._component.provide()
    all_events = await conversations(agent)
    by_rasa = played(agent, all_events, rule_only)
    atelier_states.install()
    ours = played(agent, all_events, rule_only)
    DialogueStateTracker.past_states = rasa_past_states
    atelier_channel.speed_up_rasa()
    installed = DialogueStateTracker.past_states is atelier_states.past_states
    kinds = [json.loads(line) for line in ours]
    print(json.dumps({
        "installed": installed, "conversations": len(all_events),
        "predictions": len(ours), "same": ours == by_rasa,
        "different": sum(a != b for a, b in zip(ours, by_rasa)),
        "policies": sorted({k[0]["policy_name"] for k in kinds}),
        "turns hidden from memoization": sum(len(k[1][0]) > len(k[1][1]) for k in kinds),
        "in a form": sum("active_loop" in k[1][0][-1] for k in kinds)}))

asyncio.run(main())
"""


def test_the_same_predictions_and_states_as_rasa_on_the_trained_model() -> None:
    found = in_rasa(SAME_PREDICTIONS, rasa_model())
    assert found["installed"], "speed_up_rasa does not install atelier_states"
    assert found["conversations"] > 100 and found["predictions"] > 1500, found
    assert found["same"], found
    assert found["policies"] == ["RulePolicy"], found  # the memoization has no stories
    # the parts that differ between the policies' states are exercised
    assert found["turns hidden from memoization"] > 100 and found["in a form"] > 100, found


NEVER_STALE = """
import collections, json
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, ActionReverted, ActiveLoop, BotUttered,
    DefinePrevUserUtteredFeaturization, EntitiesAdded, Restarted, SlotSet,
    UserUtteranceReverted, UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker
import atelier_states

domain = Domain.load("domain")
rasa_states = Domain.states_for_tracker_history  # Rasa's own, not replaced
RULE_ONLY = {"rule_only_slots": ["can_checkout"], "rule_only_loops": ["checkout_form"]}
atelier_states.install()

def user(text, intent):
    return UserUttered(text, {"name": intent, "confidence": 1.0})

CONVERSATION = [
    ActionExecuted("action_listen"), user("hi", "greet"),
    DefinePrevUserUtteredFeaturization(False), ActionExecuted("utter_greet"),
    BotUttered("Hello"), ActionExecuted("action_listen"), user("checkout", "checkout"),
    DefinePrevUserUtteredFeaturization(True),  # changes the message above in place
    ActionExecuted("action_start_checkout"), SlotSet("can_checkout", True),
    ActionExecuted("checkout_form"), ActiveLoop("checkout_form"),
    SlotSet("requested_slot", "email"), ActionExecuted("action_listen"),
    user("ada@example.com", "inform"), ActionExecuted("checkout_form", hide_rule_turn=True),
    SlotSet("requested_slot", None), ActiveLoop(None), ActionExecuted("action_listen"),
    user("thanks", "thank"), ActionExecuted("utter_you_are_welcome"),
    ActionExecuted("action_listen"), user("ok", "affirm"), ActionExecuted("action_listen"),
    DefinePrevUserUtteredFeaturization(True),  # the turn before the listen reads "ok"
    ActionExecuted("utter_anything_else"), ActionReverted(), UserUtteranceReverted(),
    ActionExecuted("action_listen"), user("blue", "inform"), ActionExecuted("action_listen"),
    EntitiesAdded([{"entity": "colour", "value": "blue"}]),  # added to "blue" in place
    ActionExecuted("action_listen"), user("bye", "goodbye"), Restarted(),
    ActionExecuted("action_listen"), user("hi again", "greet"),
    ActionExecuted("utter_greet")]

def asked(tracker, states):
    return [states(tracker, domain), states(tracker, domain, ignore_rule_only_turns=True,
                                            rule_only_data=RULE_ONLY)]

def ours(tracker, domain, **kwargs):
    return tracker.past_states(domain, **kwargs)

def theirs(tracker, domain, **kwargs):
    return rasa_states(domain, tracker, **kwargs)

def grown(max_event_history):
    \"\"\"The states after each event, ours asked twice (the second from what was kept),
    against Rasa's.\"\"\"
    tracker = DialogueStateTracker("c", domain.slots, max_event_history)
    other = DialogueStateTracker.from_events("d", CONVERSATION[:1], domain.slots)
    differences = 0
    for event in CONVERSATION:
        tracker.update(event)
        first = asked(tracker, ours)
        again = asked(tracker, ours)
        asked(other, ours)  # another conversation asked about in between
        after_other = asked(tracker, ours)
        differences += (first != asked(tracker, theirs) or again != first
                        or after_other != first)
    return differences, len(tracker.events)

in_full, in_full_events = grown(None)
capped, capped_events = grown(6)  # as many events each time: the oldest one dropped
print(json.dumps({"grown": in_full, "capped": capped,
                  "events": [in_full_events, capped_events]}))
"""


def test_a_conversation_that_went_on_is_never_given_its_earlier_states() -> None:
    found = in_rasa(NEVER_STALE)
    assert found["events"][0] > 30 and found["events"][1] == 6, found
    assert found["grown"] == 0 and found["capped"] == 0, found
