"""The baseline's files taken from a commit of a small git repository made here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks import baseline

LIB = """set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${ATELIER_CACHE_DIR:-$HOME/.cache/atelier}"
model_dir() { printf '%s/models/%s\\n' "$CACHE_DIR" "$(cat "$ROOT/bot/config.yml")"; }
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=Bench", "-c", "user.email=bench@atelier.example", "commit",
         "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    return repo


def test_the_baseline_is_the_commit_s_files_in_a_folder_removed_afterwards(repo):
    # given
    first = _commit(repo, {"scripts/lib.sh": LIB, "bot/config.yml": "key-one",
                           "actions/cart.py": "BEFORE = True\n"}, "first")
    _commit(repo, {"bot/config.yml": "key-two", "actions/cart.py": "AFTER = True\n",
                   "actions/new.py": ""}, "second")

    # when
    with baseline.checkout(repo, first[:7]) as tree:
        files = sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file())
        cart = (tree / "actions" / "cart.py").read_text()

    # then
    assert files == ["actions/cart.py", "bot/config.yml", "scripts/lib.sh"]
    assert cart == "BEFORE = True\n"
    assert not tree.exists() and not tree.parent.exists()
    assert _git(repo, "worktree", "list").count("\n") == 0  # no worktree registered
    assert _git(repo, "status", "--porcelain") == ""
    assert baseline.describe(repo, first) == first[:len(baseline.describe(repo, first))]


def test_the_baseline_s_model_is_keyed_by_its_own_lib_sh_in_the_cache(repo, tmp_path,
                                                                      monkeypatch):
    first = _commit(repo, {"scripts/lib.sh": LIB, "bot/config.yml": "key-one"}, "first")
    _commit(repo, {"bot/config.yml": "key-two"}, "second")
    monkeypatch.setenv("ATELIER_CACHE_DIR", str(tmp_path / "cache"))

    with baseline.checkout(repo, first) as tree:
        key = baseline.model_dir(tree)
        cached = key / "model.tar.gz"
        cached.parent.mkdir(parents=True)
        cached.write_bytes(b"trained before")
        # a model in the cache is used as it is: no interpreter is run to train one
        model = baseline.trained_model(tree, "/nonexistent/python", "/nonexistent/python")

    assert key == tmp_path / "cache" / "models" / "key-one"
    assert model == cached


def test_a_ref_that_names_no_commit_fails_with_git_s_words(repo):
    _commit(repo, {"a.txt": "a"}, "first")

    with pytest.raises(RuntimeError, match="git archive failed"), \
            baseline.checkout(repo, "no-such-ref"):
        pass


@pytest.mark.parametrize(("value", "expected"), [
    (None, baseline.DEFAULT_REF), ("", None), (" v1.2 ", "v1.2")])
def test_the_environment_names_the_baseline_or_none(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("ATELIER_BENCH_BASELINE_REF", raising=False)
    else:
        monkeypatch.setenv("ATELIER_BENCH_BASELINE_REF", value)

    assert baseline.wanted_ref() == expected
