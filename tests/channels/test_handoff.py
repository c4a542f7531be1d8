"""The conversation state machine on SQLite and PostgreSQL: every move, and the atomic claim."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.agent.auth import create_agent
from channels.handoff.repository import ConversationRepository
from channels.handoff.staffing import StaffedHours
from channels.handoff.state import ALLOWED, TransitionError, identity_of
from channels.messages import from_rasa
from commerce_core.models import Agent, Conversation, ConversationEvent
from commerce_core.models import ConversationState as State

ALL_MOVES = list(itertools.product(State, State))
counter = itertools.count()


def agents(session: Session, count: int) -> list[Agent]:
    made = [create_agent(session=session, email=f"agent{next(counter)}@shop.example",
                         name=f"Agent {i}", password="correct horse battery")
            for i in range(count)]
    session.commit()
    return made


def conversation_in(session: Session, state: State, agent: Agent | None = None) -> str:
    conversation_id = f"web-{next(counter)}"
    conversation = ConversationRepository(session).ensure(conversation_id=conversation_id)
    conversation.state = state
    conversation.agent_id = agent.id if state == State.AGENT and agent else None
    session.commit()
    return conversation_id


def state_of(session: Session, conversation_id: str) -> State:
    session.expire_all()
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    return conversation.state


@pytest.mark.parametrize(("current", "target"), ALL_MOVES,
                         ids=[f"{a.value}->{b.value}" for a, b in ALL_MOVES])
def test_every_move_is_allowed_or_refused_by_the_table(session: Session, current: State,
                                                       target: State) -> None:
    # given
    [agent] = agents(session, 1)
    conversation_id = conversation_in(session, current, agent)
    # when / then
    if (current, target) in ALLOWED:
        ConversationRepository(session).transition(
            conversation_id=conversation_id, expected=current, target=target, agent_id=agent.id,
            reason="shopper_request")
        session.commit()
        assert state_of(session, conversation_id) == target
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.agent_id == (agent.id if target == State.AGENT else None)
        assert (conversation.waiting_since is not None) == (target == State.WAITING)
        events = session.scalars(select(ConversationEvent).where(
            ConversationEvent.conversation_id == conversation_id)).all()
        assert [(e.from_state, e.to_state) for e in events] == [(current.value, target.value)]
    else:
        with pytest.raises(TransitionError) as refused:
            ConversationRepository(session).transition(
                conversation_id=conversation_id, expected=current, target=target,
                agent_id=agent.id)
        assert refused.value.code == "transition_not_allowed"
        session.rollback()
        assert state_of(session, conversation_id) == current


def test_the_table_covers_what_the_issue_asks() -> None:
    for move_ in [(State.BOT, State.WAITING), (State.WAITING, State.AGENT),
                  (State.AGENT, State.BOT), (State.AGENT, State.CLOSED),
                  (State.CLOSED, State.BOT)]:
        assert move_ in ALLOWED
    for forbidden in [(State.AGENT, State.AGENT), (State.CLOSED, State.AGENT),
                      (State.CLOSED, State.WAITING), (State.WAITING, State.WAITING)]:
        assert forbidden not in ALLOWED


def test_a_move_from_a_stale_state_loses(session: Session) -> None:
    conversation_id = conversation_in(session, State.WAITING)
    with pytest.raises(TransitionError) as lost:
        ConversationRepository(session).transition(
            conversation_id=conversation_id, expected=State.BOT, target=State.WAITING)
    assert lost.value.code == "conversation_changed"
    session.rollback()
    assert state_of(session, conversation_id) == State.WAITING


def test_only_the_holder_moves_a_conversation_out_of_an_agents_hands(session: Session) -> None:
    holder, other = agents(session, 2)
    conversation_id = conversation_in(session, State.AGENT, holder)
    for target in (State.BOT, State.CLOSED):
        with pytest.raises(TransitionError) as refused:
            ConversationRepository(session).transition(
                conversation_id=conversation_id, expected=State.AGENT, target=target,
                agent_id=other.id)
        assert refused.value.code == "not_your_conversation"
        session.rollback()
    ConversationRepository(session).move(
        conversation_id=conversation_id, target=State.BOT, from_states=(State.AGENT,),
        agent_id=holder.id)
    session.commit()
    assert state_of(session, conversation_id) == State.BOT


def test_a_handoff_records_reason_summary_and_unknown_reasons_are_normalised(
        session: Session) -> None:
    conversation_id = conversation_in(session, State.BOT)
    ConversationRepository(session).transition(
        conversation_id=conversation_id, expected=State.BOT, target=State.WAITING,
        reason="frustrated", summary="x" * 900)
    session.commit()
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    assert conversation.handoff_reason == "frustrated"
    assert conversation.summary == "x" * 500
    other = conversation_in(session, State.BOT)
    ConversationRepository(session).transition(
        conversation_id=other, expected=State.BOT, target=State.WAITING, reason="<script>",
        summary=None)
    session.commit()
    assert session.get(Conversation, other).handoff_reason == "shopper_request"  # type: ignore[union-attr]


def test_queue_lists_waiting_by_wait_and_the_agents_own(session: Session) -> None:
    me, other = agents(session, 2)
    first = conversation_in(session, State.BOT)
    second = conversation_in(session, State.BOT)
    for conversation_id in (first, second):
        ConversationRepository(session).transition(
            conversation_id=conversation_id, expected=State.BOT, target=State.WAITING,
            reason="shopper_request")
        session.commit()
        time.sleep(0.01)
    mine = conversation_in(session, State.AGENT, me)
    conversation_in(session, State.AGENT, other)
    lists = ConversationRepository(session).queue(agent_id=me.id)
    assert [e.id for e in lists["waiting"]] == [first, second]
    assert [e.id for e in lists["mine"]] == [mine]


def test_move_unknown_conversation(session: Session) -> None:
    with pytest.raises(TransitionError) as missing:
        ConversationRepository(session).move(
            conversation_id="nope", target=State.AGENT, from_states=(State.WAITING,), agent_id=1)
    assert missing.value.code == "conversation_not_found"


def test_two_agents_claiming_at_once_exactly_one_wins(
        session_factory: sessionmaker[Session]) -> None:
    # given a waiting conversation and four agents
    with session_factory() as session:
        claimers = agents(session, 4)
        conversation_id = conversation_in(session, State.WAITING)
    barrier = threading.Barrier(len(claimers))
    won: list[int] = []
    lost: list[str] = []

    def claim(agent_id: int) -> None:
        with session_factory() as session:
            barrier.wait()
            try:
                ConversationRepository(session).transition(
                    conversation_id=conversation_id, expected=State.WAITING, target=State.AGENT,
                    agent_id=agent_id)
                time.sleep(0.2)  # hold the transaction so the others really overlap it
                session.commit()
                won.append(agent_id)
            except TransitionError as exc:
                session.rollback()
                lost.append(exc.code)

    # when they all claim at the same moment
    threads = [threading.Thread(target=claim, args=(a.id,)) for a in claimers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then exactly one holds it, and one event says so
    assert len(won) == 1, (won, lost)
    assert lost == ["conversation_changed"] * 3
    with session_factory() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.state, conversation.agent_id) == (State.AGENT, won[0])
        events = session.scalars(select(ConversationEvent).where(
            ConversationEvent.conversation_id == conversation_id)).all()
        assert [(e.to_state, e.agent_id) for e in events] == [("agent", won[0])]


def test_identity_of_a_conversation() -> None:
    assert identity_of("tg-42") == ("telegram", "tg-42")
    assert identity_of("3f2a-web") == ("web", "3f2a-web")


def test_staffed_hours_parse_describe_and_cover() -> None:
    hours = StaffedHours.parse("Mon-Fri 09:00-18:00 Europe/Paris; Sat 10:00-13:00 UTC")
    assert hours.describe() == ("Mon-Fri 09:00-18:00 (Europe/Paris time) and "
                                "Sat 10:00-13:00 (UTC time)")
    monday_noon_paris = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Paris
    assert hours.is_staffed(monday_noon_paris)
    assert not hours.is_staffed(datetime(2026, 11, 23, 17, 30, tzinfo=UTC))  # 18:30 Paris
    assert hours.is_staffed(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # Saturday
    assert not hours.is_staffed(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))  # Sunday
    assert StaffedHours.parse("Fri-Mon 10:00-12:00 UTC").spans[0].days == {4, 5, 6, 0}


@pytest.mark.parametrize("value", ["", "weekdays 9-5", "Mon-Fri 18:00-09:00 UTC",
                                   "Mon-Fri 09:00-18:00 Mars/Olympus", "Mon-Fry 09:00-18:00 UTC",
                                   "Mon 25:00-26:00 UTC"])
def test_bad_staffed_hours_are_refused_clearly(value: str) -> None:
    with pytest.raises(ValueError, match="staffed hours|unknown day|time of day"):
        StaffedHours.parse(value)


def test_the_bots_handoff_payload_is_read_and_never_sent_to_the_shopper() -> None:
    handoff = {"reason": "faq_unanswered", "summary": "Asked about VAT refunds"}
    separate = from_rasa([{"text": "Let me find a person."}, {"custom": {"handoff": handoff}}])
    together = from_rasa([{"text": "Let me find a person.", "custom": {"handoff": handoff}}])
    for answers in (separate, together):
        [message] = answers
        assert (message.text, message.handoff) == ("Let me find a person.", handoff)
        assert "handoff" not in message.model_dump(mode="json")
    assert from_rasa([{"text": "hello"}])[0].handoff is None
