"""The audit log page: every action taken in the back office, newest first."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from channels.merchant.auth import OwnerDep
from channels.merchant.html import h, join, page, table, url, when
from commerce_core.audit.repository import AuditRepository
from commerce_core.db import SessionDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _fields(values: dict[str, object]) -> str:
    return " · ".join(f"{k}: {v}" for k, v in values.items())


def _target(target_type: str, target: str) -> object:
    if target_type == "order":
        return h('<a href="/merchant/orders/{0}">order {0}</a>', target)
    return f"{target_type} {target}"


@router.get("/merchant/audit")
def audit_page(actor: OwnerDep, session: SessionDep,
               page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1
               ) -> HTMLResponse:
    entries, total = AuditRepository(session).page(offset=(page_number - 1) * PAGE_SIZE,
                                                   limit=PAGE_SIZE)
    rows = [(when(e.created_at), e.actor_email, e.action, _target(e.target_type, e.target),
             _fields(e.before), _fields(e.after)) for e in entries]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    links = [h('<span>page {} of {}</span>', page_number, pages)]
    if page_number < pages:
        links.append(h('<a rel="next" href="{}">older →</a>',
                       url("/merchant/audit", page=page_number + 1)))
    return page(title="Audit log", actor=actor, body=join([
        table(["When", "Who", "Action", "On", "Before", "After"], rows,
              empty="Nothing has been done in the back office yet.", css="audit"),
        h('<p class="paging">{}</p>', join(links))]))
