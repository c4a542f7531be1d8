"""The states of a conversation worked out once per prediction instead of once per policy.

Rasa 3.6 turns a conversation into its states (``DialogueStateTracker.past_states``:
``Domain.states_for_tracker_history``) each time a policy asks: MemoizationPolicy once,
RulePolicy twice after a user message (by text, then by intent) and once otherwise. Each
time it replays every event of the conversation into a new tracker and builds the state
before each action, most of it the same work, and the next prediction of the turn does it
all again for a conversation longer by an action or two.

:func:`install` keeps, for the last conversations asked about, what the replay gives before
each action (the state, the previous action, whether the turn is hidden from the policies
trained on stories) and the tracker it replayed the events into, and builds each policy's
states from it, with the same steps as Rasa's, in the same order, on copies: the states
handed out are new objects each time, as Rasa's are (the featurizers change them in
place), and share what Rasa's share.

The kept replay is used only for the same tracker object, with the same slots, for the
same domain. While the tracker holds the very same events (not only as many: a
conversation with a capped history drops one as it adds one) its turns are used as they
are. A tracker that grew since (the next prediction of the same turn) has only its new
events replayed, from where the replay stopped, as long as the events applied before are
still applied, in the same order, and none of its user messages was since changed in
place (to be featurized otherwise, or given more entities); else it is replayed from its
start. A replay that failed is not kept. Trackers of another class (training's, which
keep states of their own) are left to Rasa.

CPU per prediction, the conversation tests of bot/tests and sessions chaining them
(1,623 predictions, 2.3 a turn, the tracker read afresh at each user message), medians of
three runs side by side: 1.51 ms with Rasa's, 1.14 ms with the replay shared by the
policies, 0.95 ms with the next prediction of a turn replaying only the new events. Ten
conversations at once, another's prediction between two of one turn: 1.47, 1.12 and
0.95 ms (1.12 ms with the last conversation's replay kept alone).
"""

from __future__ import annotations

import operator
import weakref
from typing import Any, NamedTuple

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
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


def _changeable(message: UserUttered) -> tuple[Any, int]:
    return message.use_text_for_featurization, len(message.entities)


class _Replay:
    """A conversation replayed as ``DialogueStateTracker.generate_all_prior_trackers``
    replays it: its applied events so far, the tracker they were applied to, and the turn
    before each of their actions."""

    def __init__(self, tracker: DialogueStateTracker, domain: Domain,
                 omit_unset_slots: bool) -> None:
        self.tracker = weakref.ref(tracker)
        self.domain = weakref.ref(domain)
        self.omit_unset_slots = omit_unset_slots
        self.is_rule_tracker = tracker.is_rule_tracker
        self.max_event_history = tracker._max_event_history
        self.slots = list(tracker.slots.values())
        self.events: list[Any] = []
        self.applied: list[Any] = []
        self.replayed = tracker.init_copy()
        self.turns: list[_Turn] = []
        self.messages: list[tuple[Any, tuple[Any, int]]] = []
        """The user message each turn (but the last) was read with, and what of it could
        change in place since: how it is to be featurized
        (``DefinePrevUserUtteredFeaturization``), its entities (``EntitiesAdded``)."""
        self.all_turns: list[_Turn] = []

    def of(self, tracker: DialogueStateTracker, domain: Domain,
           omit_unset_slots: bool) -> bool:
        """Whether this is a replay of ``tracker`` (as it is now or earlier)."""
        slots = tracker.slots.values()
        return (self.tracker() is tracker and self.domain() is domain
                and self.omit_unset_slots == omit_unset_slots
                and self.is_rule_tracker == tracker.is_rule_tracker
                and len(slots) == len(self.slots)
                and all(map(operator.is_, slots, self.slots))
                and self.max_event_history == tracker._max_event_history
                and all(_changeable(message) == then for message, then in self.messages))

    def holds(self, tracker: DialogueStateTracker) -> bool:
        """Whether the tracker holds the very events replayed (not only as many: a
        conversation with a capped history drops one as it adds one)."""
        events = tracker.events
        return len(events) == len(self.events) and all(map(operator.is_, events,
                                                           self.events))

    def go_on(self, tracker: DialogueStateTracker, applied: list[Any],
              domain: Domain) -> None:
        """Replays the events applied since, ``applied`` starting with those replayed."""
        for event in applied[len(self.applied):]:
            if isinstance(event, ActionExecuted):
                self.turns.append(self._turn(domain, event.hide_rule_turn))
                message = self.replayed.latest_message
                self.messages.append((message, _changeable(message)))
            self.replayed.update(event)
        self.events, self.applied = list(tracker.events), applied
        self.all_turns = [*self.turns, self._turn(domain, False)]

    def _turn(self, domain: Domain, hide_rule_turn: bool) -> _Turn:
        prior = self.replayed
        return _Turn(hide_rule_turn, bool(prior.followup_action)
                     or prior.latest_action_name == prior.active_loop_name,
                     domain._get_prev_action_sub_state(prior),
                     domain.get_active_state(prior, omit_unset_slots=self.omit_unset_slots))


KEPT_REPLAYS = 16
"""Conversations whose replay is kept: the predictions of concurrent turns interleave
while their actions run, and each goes on from its own replay."""
_kept: dict[int, _Replay] = {}
"""By ``id`` of the tracker, the most recently replayed last."""


def _replay(tracker: DialogueStateTracker, domain: Domain,
            omit_unset_slots: bool) -> list[_Turn]:
    """The turns of ``tracker`` as ``Domain.states_for_tracker_history`` of Rasa 3.6.21
    reads them: kept while the tracker holds the same events, the new ones replayed on
    from where the last replay stopped while the events applied before stay applied
    (a later loop action can undo the loop's earlier ones, a restart all of them)."""
    kept = _kept.get(id(tracker))
    if kept is not None and kept.of(tracker, domain, omit_unset_slots):
        if kept.holds(tracker):
            return kept.all_turns
        applied = tracker.applied_events()
        if len(applied) < len(kept.applied) or not all(
                map(operator.is_, kept.applied, applied)):
            kept = _Replay(tracker, domain, omit_unset_slots)
    else:
        applied = tracker.applied_events()
        kept = _Replay(tracker, domain, omit_unset_slots)
    _kept.pop(id(tracker), None)  # a replay that fails part way is not kept
    kept.go_on(tracker, applied, domain)
    for key in [key for key, replay in _kept.items() if replay.tracker() is None]:
        del _kept[key]  # the conversation's turn is over
    while len(_kept) >= KEPT_REPLAYS:
        del _kept[next(iter(_kept))]
    _kept[id(tracker)] = kept
    return kept.all_turns


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
