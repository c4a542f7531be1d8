"""The stack as it was at an earlier commit, to measure next to the current tree in one run.

``ATELIER_BENCH_BASELINE_REF`` names the commit (empty: no baseline). Its default,
:data:`DEFAULT_REF` (183533e, "The action server's metrics are served by its worker"), is
the last commit before the work on the cost of a turn began: it is the parent of 0c2ee37
("The gateway spreads conversations over several Rasa servers"), the first commit of that
work, which went on with the action answers' schema checked once (34e0f05), Rasa's SQLite
conversation store in WAL mode (c1327af), two Rasa processes in ``make run`` (8564d21),
the store's connections kept open (7bb49c5) and a turn's figures written with the first
answer (04010f7).

The commit's files are taken with ``git archive`` into a temporary folder (no worktree is
registered in the repository, nothing in the clone changes) and removed afterwards. Its
processes run in the same virtual environments as the current tree's: what changed in the
requirements since is not part of the comparison, only the code, the bot and the model.
Its Rasa model is trained from its own ``bot/`` and ``nlu_data/`` as ``scripts/setup.sh``
trains the main model, into the model cache outside the clone under the key that the
commit's own ``scripts/lib.sh`` (``model_dir``) gives its inputs: a commit whose model
inputs are the current tree's uses the same trained model, and a later run finds it there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

DEFAULT_REF = "183533e5eb2db167d42ea1fdae329bdd389a1037"


def wanted_ref() -> str | None:
    """The baseline commit the environment asks for, or ``None`` when it asks for none."""
    ref = os.environ.get("ATELIER_BENCH_BASELINE_REF", DEFAULT_REF).strip()
    return ref or None


def describe(repo: Path, ref: str) -> str:
    """``ref`` as a short commit name, to print in the report."""
    return _git(repo, "rev-parse", "--short", f"{ref}^{{commit}}").strip()


@contextlib.contextmanager
def checkout(repo: Path, ref: str) -> Iterator[Path]:
    """The files of ``ref`` in a temporary folder, removed when the block ends."""
    parent = Path(tempfile.mkdtemp(prefix="atelier-baseline-"))
    try:
        tree = parent / "tree"
        tree.mkdir()
        archive = parent / "tree.tar"
        _git(repo, "archive", "--format=tar", "--output", str(archive), f"{ref}^{{commit}}")
        with tarfile.open(archive) as tar:
            tar.extractall(tree, filter="data")
        archive.unlink()
        yield tree
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def model_dir(tree: Path) -> Path:
    """Where the tree's own ``scripts/lib.sh`` keeps its trained model (in the cache
    outside any clone: ``ATELIER_CACHE_DIR``, else ``~/.cache/atelier``)."""
    out = _run(["bash", "-c", "source scripts/lib.sh && model_dir"], tree, dict(os.environ),
               "finding the baseline's model key")
    return Path(out.strip())


def trained_model(tree: Path, app_python: str, rasa_python: str) -> Path:
    """The tree's trained Rasa model, trained first if the cache has none for its inputs.

    Training follows ``scripts/setup.sh``'s ``setup_model``: the NLU sentence encoder is
    laid out with the app's Python, then ``rasa train`` runs in the tree's ``bot/``. The
    set-up's lock is held meanwhile, so two checkouts never train into one folder at once.
    """
    target = model_dir(tree)
    model = target / "model.tar.gz"
    if model.exists():
        return model
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent.parent / "setup.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if model.exists():
            return model
        env = {**os.environ, "PYTHONPATH": str(tree)}
        exporter = tree / "scripts" / "export_nlu_encoder.py"
        if exporter.exists():
            encoders = str(target.parent.parent / "nlu-encoders")
            encoder = _run([app_python, str(exporter), encoders], tree, env,
                           "laying out the NLU sentence encoder")
            env["ATELIER_NLU_ENCODER_DIR"] = encoder.strip().splitlines()[-1]
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        _run([rasa_python, "-m", "rasa", "train", "--data", "data", "../nlu_data", "--config",
              "config.yml", "--domain", "domain", "--out", str(staging), "--fixed-model-name",
              "model", "--quiet"], tree / "bot", env, "training the baseline's Rasa model")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return model


def _git(repo: Path, *args: str) -> str:
    return _run(["git", "-C", str(repo), *args], repo, dict(os.environ), f"git {args[0]}")


def _run(args: list[str], cwd: Path, env: dict[str, str], what: str) -> str:
    """The command's output; its own error output in the exception when it fails."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n"
                           f"{(done.stderr or done.stdout)[-3000:]}")
    return done.stdout
