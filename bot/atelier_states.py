"""The states of a conversation worked out once per prediction instead of once per policy.

Rasa 3.6 turns a conversation into its states (``DialogueStateTracker.past_states``:
``Domain.states_for_tracker_history``) each time a policy asks: MemoizationPolicy once,
RulePolicy twice after a user message (by text, then by intent) and once otherwise. Each
time it replays every event of the conversation into a new tracker and builds the state
before each action, most of it the same work: a third of the CPU of a prediction.

:func:`install` keeps, for the last conversation asked about, what the replay gives before
each action (the state, the previous action, whether the turn is hidden from the policies
trained on stories), and builds each policy's states from it, with the same steps as
Rasa's, in the same order, on copies: the states handed out are new objects each time, as
Rasa's are (the featurizers change them in place), and share what Rasa's share.

The kept replay is used only for the same tracker object, still holding the very same
events (not only as many: a conversation with a capped history drops one as it adds one),
with the same slots, for the same domain. A tracker that grew since, or whose events Rasa
replaced, is replayed again. Trackers of another class (training's, which keep states of
their own) are left to Rasa.
"""

from __future__ import annotations

import operator
import weakref
from typing import Any, NamedTuple

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

State = dict[str, Any]


class _Turn(NamedTuple):
    """What ``Domain.states_for_tracker_history`` reads of the conversation before one
    action (or after the last event)."""

    hide_rule_turn: bool
    keeps_hidden: bool
    """A follow-up action or the active loop's own action: the turn does not change
    whether the policies trained on stories see the conversation."""
    previous_action: Any
    state: State


class _Replay(NamedTuple):
    tracker: weakref.ref[DialogueStateTracker]
    domain: weakref.ref[Domain]
    omit_unset_slots: bool
    is_rule_tracker: bool
    events: list[Any]
    slots: list[Any]
    turns: list[_Turn]


_kept: _Replay | None = None


def _same(kept: _Replay | None, tracker: DialogueStateTracker, domain: Domain,
          omit_unset_slots: bool) -> bool:
    if kept is None or kept.tracker() is not tracker or kept.domain() is not domain:
        return False
    if (kept.omit_unset_slots != omit_unset_slots
            or kept.is_rule_tracker != tracker.is_rule_tracker):
        return False
    events, slots = tracker.events, tracker.slots.values()
    return (len(events) == len(kept.events) and all(map(operator.is_, events, kept.events))
            and len(slots) == len(kept.slots) and all(map(operator.is_, slots, kept.slots)))


def _replay(tracker: DialogueStateTracker, domain: Domain,
            omit_unset_slots: bool) -> list[_Turn]:
    """The turns of ``tracker`` as ``Domain.states_for_tracker_history`` of Rasa 3.6.21
    reads them, from the last replay if it was of the same conversation."""
    global _kept
    if _same(_kept, tracker, domain, omit_unset_slots):
        return _kept.turns  # type: ignore[union-attr]
    turns = [_Turn(hide_rule_turn, bool(prior.followup_action)
                   or prior.latest_action_name == prior.active_loop_name,
                   domain._get_prev_action_sub_state(prior),
                   domain.get_active_state(prior, omit_unset_slots=omit_unset_slots))
             for prior, hide_rule_turn in tracker.generate_all_prior_trackers()]
    _kept = _Replay(weakref.ref(tracker), weakref.ref(domain), omit_unset_slots,
                    tracker.is_rule_tracker, list(tracker.events),
                    list(tracker.slots.values()), turns)
    return turns


def states_for_turns(domain: Domain, turns: list[_Turn], ignore_rule_only_turns: bool,
                     rule_only_data: dict[str, Any] | None) -> list[State]:
    """``Domain.states_for_tracker_history`` of Rasa 3.6.21 over the replayed ``turns``.

    Each sub-state (user, slots, previous action, loop) is copied once per call, so that a
    sub-state Rasa's states share (the previous action the hidden turns keep, the user
    message carried over) is shared by the copies too, and none of the kept ones is ever
    handed out."""
    copies: dict[int, Any] = {}

    def copied(sub_state: Any) -> Any:
        copy = copies.get(id(sub_state))
        if copy is None:
            copy = copies[id(sub_state)] = sub_state.copy()
        return copy

    states: list[State] = []
    last_ml_action_sub_state = None
    turn_was_hidden = False
    for turn in turns:
        if ignore_rule_only_turns:
            if not turn_was_hidden:
                last_ml_action_sub_state = turn.previous_action
            if not turn.keeps_hidden:
                turn_was_hidden = turn.hide_rule_turn
            if turn_was_hidden:
                continue
        state = {kind: copied(sub_state) for kind, sub_state in turn.state.items()}
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = copied(last_ml_action_sub_state)
        states.append(domain._clean_state(state))
    return states


_rasa_past_states = DialogueStateTracker.past_states


def past_states(self: DialogueStateTracker, domain: Domain, omit_unset_slots: bool = False,
                ignore_rule_only_turns: bool = False,
                rule_only_data: dict[str, Any] | None = None) -> list[State]:
    """``DialogueStateTracker.past_states`` of Rasa 3.6.21, the conversation replayed
    once for all the policies of a prediction."""
    if type(self) is not DialogueStateTracker or type(domain).states_for_tracker_history \
            is not Domain.states_for_tracker_history:
        return _rasa_past_states(self, domain, omit_unset_slots=omit_unset_slots,
                                 ignore_rule_only_turns=ignore_rule_only_turns,
                                 rule_only_data=rule_only_data)
    return states_for_turns(domain, _replay(self, domain, omit_unset_slots),
                            ignore_rule_only_turns, rule_only_data)


def install() -> None:
    DialogueStateTracker.past_states = past_states  # type: ignore[method-assign]
