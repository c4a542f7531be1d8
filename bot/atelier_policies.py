"""Two costs of Rasa 3.6's dialogue policies that buy nothing, removed by :func:`install`.

Which rules apply (``RulePolicy._get_possible_keys``): Rasa filters all the rules (168
here) against the states of the conversation, latest first, several times a turn, and for
each rule and state parses nothing but copies and reverses the rule's states again
(``_is_rule_applicable``). Here each rule's states are reversed once per set of rules, the
same checks are made inline, in the same order, and none past the length of the longest
rule (a rule of ``n`` states is checked against the latest ``n`` only: Rasa keeps it for
any earlier state).

Debug logs (``RulePolicy`` and ``MemoizationPolicy``): each prediction deep-copies the
conversation's states to log them at debug level, whether or not that level is logged.
The copy is made only when the policy's logger logs debug messages (structlog drops the
message otherwise: ``structlog.stdlib.filter_by_level``).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from rasa.core.policies import memoization, rule_policy
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION

State = dict[str, Any]


_reversed_rules: dict[int, tuple[dict[str, str], dict[str, list[State]]]] = {}


def _reversed(lookup: dict[str, str]) -> dict[str, list[State]]:
    """Each rule's states, latest first, kept while ``lookup`` (a policy's set of rules,
    fixed once trained) lives and holds the same rules."""
    kept = _reversed_rules.get(id(lookup))
    if kept is None or kept[0] is not lookup or len(kept[1]) != len(lookup):
        kept = (lookup, {key: list(reversed(RulePolicy._rule_key_to_state(key)))
                         for key in lookup})
        _reversed_rules[id(lookup)] = kept
    return kept[1]


def get_possible_keys(self: RulePolicy, lookup: dict[str, str],
                      states: list[State]) -> set[str]:
    """``RulePolicy._get_possible_keys`` of Rasa 3.6.21, with the checks of
    ``RulePolicy._is_rule_applicable`` inline. The sets are built in the same order as
    Rasa's, so that ``max(keys, key=len)`` picks the same one of two rules of a length."""
    rules = _reversed(lookup)
    possible = set(lookup.keys())
    longest = max((len(rule) for rule in rules.values()), default=0)
    for i, state in enumerate(reversed(states)):
        if i >= longest:  # every rule left is kept, in a set built afresh as in Rasa
            possible = {key for key in possible}
            continue
        previous_action = state.get(PREVIOUS_ACTION)
        possible = {key for key in possible if _applies(self, rules[key], i, state,
                                                        previous_action)}
    return possible


def _applies(policy: RulePolicy, rule_states: list[State], i: int, state: State,
             previous_action: Any) -> bool:
    """``RulePolicy._is_rule_applicable`` of the rule whose states, latest first, are
    ``rule_states``."""
    if i >= len(rule_states):
        return True
    rule_state = rule_states[i]
    rule_previous_action = rule_state.get(PREVIOUS_ACTION)
    if not rule_previous_action and not previous_action:
        return True  # both start a conversation
    if not rule_previous_action or not previous_action:
        return False
    return policy._does_rule_match_state(rule_state, state)


class _CopyForDebugLog:
    """Stands for the ``copy`` module in a policy's module, which uses it only to copy
    what it logs at debug level."""

    def __init__(self, logger_name: str) -> None:
        self._logger = logging.getLogger(logger_name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if self._logger.isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value


def install() -> None:
    RulePolicy._get_possible_keys = get_possible_keys  # type: ignore[method-assign]
    for module in (rule_policy, memoization):
        module.copy = _CopyForDebugLog(module.__name__)  # type: ignore[assignment]
