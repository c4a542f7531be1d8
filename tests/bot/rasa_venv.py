"""Rasa's own environment (Python 3.10), for tests that ask Rasa itself."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"


def rasa_python() -> str:
    """The interpreter of Rasa's virtual environment (``ATELIER_TEST_RASA_BIN``'s)."""
    rasa = os.environ.get("ATELIER_TEST_RASA_BIN")
    if not rasa:
        pytest.fail("ATELIER_TEST_RASA_BIN is not set: run the suite with 'make test'.",
                    pytrace=False)
    return str(Path(rasa).with_name("python"))


def rasa_model() -> str:
    """The trained model (``ATELIER_TEST_RASA_MODEL``)."""
    model = os.environ.get("ATELIER_TEST_RASA_MODEL")
    if not model:
        pytest.fail("ATELIER_TEST_RASA_MODEL is not set: run the suite with 'make test'.",
                    pytrace=False)
    return model


def rasa_env() -> dict[str, str]:
    """The environment of a Rasa process: the bot directory on its path, as ``rasa run``
    has it in make run and in the image."""
    return {**os.environ, "PYTHONPATH": str(BOT), "RASA_TELEMETRY_ENABLED": "false"}


def in_rasa(code: str, *args: str) -> Any:
    """What ``code`` printed last, as JSON, run by Rasa's Python in the bot directory."""
    result = subprocess.run([rasa_python(), "-c", code, *args], cwd=BOT,
                            capture_output=True, text=True, timeout=180, env=rasa_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
