"""Every conversation test in ``bot/tests`` passes with the trained model.

The app (fresh SQLite demo shop) and the action server run as real processes, and
``rasa test core --fail-on-prediction-errors`` plays the stories against the model with
an endpoints file pointing at that action server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.stack import REPO, Stack


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value or (name.endswith("MODEL") and not os.path.exists(value)):
        pytest.fail(f"{name} is not set or missing: run the suite with 'make test'.",
                    pytrace=False)
    return value


def test_conversation_tests_pass(tmp_path: Path) -> None:
    # given
    rasa, model = _required("ATELIER_TEST_RASA_BIN"), _required("ATELIER_TEST_RASA_MODEL")
    stories = REPO / "bot" / "tests"
    assert sorted(stories.glob("*.yml")), "no conversation tests in bot/tests"
    stack = Stack(workdir=tmp_path / "stack", rasa_bin=rasa, model=model, with_rasa=False)
    stack.workdir.mkdir()
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("action_endpoint:\n"
                         f"  url: http://127.0.0.1:{stack.actions_port}/webhook\n")
    out = tmp_path / "results"
    try:
        stack.start()
        # when
        result = subprocess.run(
            [rasa, "test", "core", "--stories", str(stories), "--model", model,
             "--endpoints", str(endpoints), "--fail-on-prediction-errors", "--out", str(out)],
            cwd=REPO / "bot", capture_output=True, text=True, timeout=1200,
            env={**stack.env(), "RASA_TELEMETRY_ENABLED": "false"})
    finally:
        stack.stop()
    # then
    failed = out / "failed_test_stories.yml"
    report = failed.read_text() if failed.exists() else ""
    output = result.stdout + result.stderr
    wrong = output[output.find("WrongPredictionException"):] if \
        "WrongPredictionException" in output else output[-6000:]
    assert result.returncode == 0, (
        f"rasa test core failed ({result.returncode}).\n--- failed stories\n{report}\n"
        f"--- output\n{wrong[:8000]}")
    assert "None of the test stories failed" in report, report
