"""The Rasa project is valid, and its catalog lookups are in step with the demo catalog."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_rasa_data_validate_is_clean() -> None:
    rasa = os.environ.get("ATELIER_TEST_RASA_BIN")
    if not rasa:
        pytest.fail("ATELIER_TEST_RASA_BIN is not set: run the suite with 'make test'.",
                    pytrace=False)
    result = subprocess.run(
        [rasa, "data", "validate", "--data", "data", "../nlu_data", "--domain", "domain",
         "--config", "config.yml", "--fail-on-warnings"],
        cwd=REPO / "bot", capture_output=True, text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"}, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_catalog_lookups_are_generated_from_the_demo_catalog() -> None:
    generated = subprocess.run([sys.executable, "scripts/gen_nlu_lookups.py"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout
    committed = (REPO / "nlu_data" / "catalog_lookups.yml").read_text()
    assert generated == committed, "run: python scripts/gen_nlu_lookups.py > " \
                                   "nlu_data/catalog_lookups.yml"
    assert "      - mug\n" in committed and "      - mugs\n" in committed
