"""The rule matching of bot/atelier_policies.py against Rasa 3.6's own, on the rules of the
trained model: the same rules apply to the same conversations, also long ones, in the same
order (the longest of them is the rule Rasa follows). What it saves is measured by
benchmarks/fullstack_bench.py, not here."""

from __future__ import annotations

from tests.bot.rasa_venv import in_rasa, rasa_model

SAME_RULES = """
import json, random, sys, tarfile, time
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.events import ActionExecuted
import atelier_policies

with tarfile.open(sys.argv[1]) as model:
    member = next(m for m in model.getmembers() if m.name.endswith("rule_policy.json"))
    lookup = json.load(model.extractfile(member))["lookup"]
policy = RulePolicy.__new__(RulePolicy)  # the matching reads only the rules
rules = [json.loads(key) for key in lookup["rules"]]
unhappy = [json.loads(key) for key in lookup["rules_for_loop_unhappy_path"]]
chance = random.Random(7)
conversations = []
for states in rules + unhappy:  # each rule, alone and after a stretch of others
    conversations.append(states)
    before = [s for rule in chance.sample(rules, 3) for s in rule]
    conversations.append(before + states)
for _ in range(200):  # long conversations: one state changed to miss now and then
    states = [dict(s) for rule in chance.sample(rules, 12) for s in rule]
    if chance.random() < 0.5:
        states[-1] = {**states[-1], "prev_action": {"action_name": "action_listen"}}
    conversations.append(states)

def keys(kind):  # in the order the set gives them (max(keys, key=len) picks by it)
    return [list(policy._get_possible_keys(lookup[kind], states))
            for states in conversations]

def timed(kind):
    start = time.process_time()
    found = [keys(kind) for _ in range(5)][-1]
    return found, time.process_time() - start

rasa_rules, rasa_seconds = timed("rules")
rasa_unhappy = keys("rules_for_loop_unhappy_path")
atelier_policies.install()
ours, our_seconds = timed("rules")
print(json.dumps({"conversations": len(conversations),
                  "applying": sum(bool(k) for k in rasa_rules),
                  "same rules": ours == rasa_rules,
                  "same unhappy": keys("rules_for_loop_unhappy_path") == rasa_unhappy,
                  "cpu seconds": [rasa_seconds, our_seconds]}))
"""


def test_the_same_rules_apply_as_in_rasa() -> None:
    found = in_rasa(SAME_RULES, rasa_model())
    assert found["conversations"] > 500 and found["applying"] > 100
    assert found["same rules"] and found["same unhappy"]

