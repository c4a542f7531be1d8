"""Accounts of the shop have a role: the operator command makes owners and agents, and the
demo's owner is made once (``--if-missing``) — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from channels.agent.auth import authenticate
from commerce_core.models import Agent, AgentRole
from tests.conftest import REPO

PASSWORD = "a long owner password"


def create_agent(engine: Engine, *args: str, password: str = PASSWORD
                 ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATELIER_DATABASE_URL": engine.url.render_as_string(
        hide_password=False), "ATELIER_AGENT_PASSWORD": password}
    return subprocess.run([sys.executable, "-m", "channels", "create-agent", *args], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=60)


def roles(factory: sessionmaker[Session]) -> dict[str, AgentRole]:
    with factory() as session:
        return {a.email: a.role for a in session.scalars(select(Agent))}


def test_the_command_makes_owners_and_agents(engine: Engine,
                                              session_factory: sessionmaker[Session]) -> None:
    # when
    owner = create_agent(engine, "--email", "Olga@Shop.example", "--name", "Olga",
                         "--role", "owner")
    agent = create_agent(engine, "--email", "ana@shop.example", "--name", "Ana")
    # then
    assert owner.returncode == 0, owner.stdout + owner.stderr
    assert "owner olga@shop.example created" in owner.stdout
    assert "/merchant" in owner.stdout
    assert agent.returncode == 0, agent.stdout + agent.stderr
    assert roles(session_factory) == {"olga@shop.example": AgentRole.OWNER,
                                      "ana@shop.example": AgentRole.AGENT}


def test_an_unknown_role_is_refused_and_nothing_is_made(
        engine: Engine, session_factory: sessionmaker[Session]) -> None:
    result = create_agent(engine, "--email", "x@shop.example", "--role", "admin")
    assert result.returncode == 2
    assert "invalid choice: 'admin'" in result.stderr
    assert roles(session_factory) == {}


def test_if_missing_leaves_an_existing_account_and_its_password(
        engine: Engine, session_factory: sessionmaker[Session]) -> None:
    # given the demo's owner, made at a first start
    first = create_agent(engine, "--email", "owner@atelier.example", "--role", "owner",
                         "--if-missing")
    assert first.returncode == 0, first.stdout + first.stderr
    # when the shop starts again with another password in the environment
    again = create_agent(engine, "--email", "owner@atelier.example", "--role", "owner",
                         "--if-missing", password="another password 123")
    twice = create_agent(engine, "--email", "owner@atelier.example", "--role", "owner")
    # then
    assert again.returncode == 0 and "already exists: left as it is" in again.stdout
    assert twice.returncode == 2 and "already exists" in twice.stdout
    with session_factory() as session:
        assert authenticate(session=session, email="owner@atelier.example",
                            password=PASSWORD) is not None
        assert authenticate(session=session, email="owner@atelier.example",
                            password="another password 123") is None
