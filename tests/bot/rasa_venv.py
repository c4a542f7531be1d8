"""Rasa's own environment (Python 3.10), for tests that ask Rasa itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def rasa_python() -> str:
    """The interpreter of Rasa's virtual environment (``ATELIER_TEST_RASA_BIN``'s)."""
    rasa = os.environ.get("ATELIER_TEST_RASA_BIN")
    if not rasa:
        pytest.fail("ATELIER_TEST_RASA_BIN is not set: run the suite with 'make test'.",
                    pytrace=False)
    return str(Path(rasa).with_name("python"))
