"""Bounds shared by the API's inputs, so odd input gets a clear 422 instead of reaching the
database (PostgreSQL refuses a NUL in text and an integer past its column's range)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

MAX_ID = 2**31 - 1
"""Ids are ``integer`` columns: a larger number names nothing, and PostgreSQL would refuse
to compare it."""
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
"""Control characters: never in a one-line value (name, category, SKU, URL, filter)."""
MULTI_LINE_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters other than tab and line breaks: never in a text (a description)."""
CONTROL_MESSAGE = "must not contain control characters"


def one_line(value: str) -> str:
    if CONTROL_RE.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def multi_line(value: str) -> str:
    if MULTI_LINE_CONTROL_RE.search(value):
        raise ValueError(f"{CONTROL_MESSAGE} (other than tabs and line breaks)")
    return value


OneLine = Annotated[str, AfterValidator(one_line)]
MultiLine = Annotated[str, AfterValidator(multi_line)]


def id_path(what: str) -> object:
    """A path parameter holding the id of a ``what``: 1 to ``MAX_ID``."""
    return Path(ge=1, le=MAX_ID, description=f"the id of the {what}")


ProductId = Annotated[int, id_path("product")]
VariantId = Annotated[int, id_path("variant")]
OrderId = Annotated[int, id_path("order")]
