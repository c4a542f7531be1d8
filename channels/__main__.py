"""Operator commands of the gateway.

    python -m channels create-agent --email ana@shop.example --name "Ana"
    python -m channels create-agent --email owner@shop.example --role owner --if-missing
    python -m channels deactivate-agent --email ana@shop.example

The password of a new agent is read from ``ATELIER_AGENT_PASSWORD`` or else from standard
input (asked for without echo on a terminal), never from the command line, where other
users of the machine could read it. An ``owner`` runs the shop from the back office at
``/merchant`` and may use the console too; an ``agent`` (the default) only the console.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy import select

from channels.agent.auth import AccountError, create_agent, normalize_email
from commerce_core.db import get_sessionmaker
from commerce_core.models import Agent, AgentRole


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _password() -> str:
    password = os.environ.get("ATELIER_AGENT_PASSWORD")
    if password:
        return password
    if sys.stdin.isatty():
        return getpass.getpass("Password for the agent: ")
    return sys.stdin.readline().rstrip("\r\n")


def cmd_create(email: str, name: str, role: AgentRole, if_missing: bool) -> int:
    with get_sessionmaker()() as session:
        if if_missing and session.scalar(select(Agent.id).where(
                Agent.email == normalize_email(email))) is not None:
            _say(f"{role.value} {normalize_email(email)} already exists: left as it is")
            return 0
        password = _password()
        try:
            agent = create_agent(session=session, email=email, name=name or email.split("@")[0],
                                 password=password, role=role)
        except AccountError as exc:
            _say(f"error: {exc}")
            return 2
        session.commit()
        where = "/merchant (and /agent)" if role is AgentRole.OWNER else "/agent"
        _say(f"{role.value} {agent.email} created (id {agent.id}); sign in at {where}")
    return 0


def cmd_deactivate(email: str) -> int:
    with get_sessionmaker()() as session:
        agent = session.scalar(select(Agent).where(Agent.email == normalize_email(email)))
        if agent is None:
            _say(f"error: no agent with the email {email}")
            return 2
        agent.active = False  # sessions stop working at once; transcripts keep their author
        session.commit()
    _say(f"agent {email} deactivated")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m channels")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-agent",
                                 help="create an account of the console (and back office)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--role", choices=[r.value for r in AgentRole],
                        default=AgentRole.AGENT.value,
                        help="owner: back office and console; agent: console only")
    create.add_argument("--if-missing", action="store_true",
                        help="do nothing when an account has this email already")
    deactivate = commands.add_parser("deactivate-agent", help="stop an agent signing in")
    deactivate.add_argument("--email", required=True)
    args = parser.parse_args(argv)
    if args.command == "create-agent":
        return cmd_create(args.email, args.name, AgentRole(args.role), args.if_missing)
    return cmd_deactivate(args.email)


if __name__ == "__main__":
    sys.exit(main())
