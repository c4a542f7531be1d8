"""NLU pipelines compared: the previous light pipeline (n-gram features + Rasa's logistic
regression) against the chosen one (MiniLM sentence embeddings + tf-idf n-grams in one
logistic regression, bot/atelier_nlu), both with entities from regexes and lookup tables.

    python -m benchmarks.nlu_bench          # writes benchmarks/report/nlu_choice.md
    python -m benchmarks.nlu_bench --compare OLD.tar.gz[@BOT_DIR] NEW.tar.gz[@BOT_DIR]

Each candidate is trained on nlu_data/ only (``rasa train nlu``), evaluated with
``rasa test nlu --nlu bot/nlu_eval/heldout.yml``, then served by ``rasa run --enable-api``
to time ``POST /model/parse`` on every held-out message and to score what it answers on
the held-out, development and realistic sets (summary figures only). Rasa lives in its own
Python 3.10 venv, so everything goes through its command line; the chosen pipeline's
sentence encoder is exported with this (the app's) venv first, as the set-up does.

``--compare`` serves two trained models side by side instead (each with the components and
the channel of its own ``bot/`` folder, this checkout's by default: the channel installs
the folder's replacements of pieces of Rasa, as in the served bot), asks both every
held-out and development message in turn, alternating which goes first, and prints each
server's parse p50 / p95 and its CPU time per parse (from ``/proc``: robust on a busy
machine, where wall times of runs made one after the other are not comparable).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmarks.common import REPORT_DIR, Report, Series, percentile, plt

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "bot" / "nlu_eval" / "heldout.yml"
SETS = {"dev": ROOT / "bot" / "nlu_eval" / "dev.yml",
        "realistic": ROOT / "bot" / "nlu_eval" / "realistic.yml"}
"""Scored on the served model by scripts/eval_nlu.py's figures (never per message)."""
PARSE_RUNS = 2
FALLBACK_THRESHOLD, FALLBACK_AMBIGUITY = 0.3, 0.02  # as bot/config.yml
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.4)
AMBIGUITY = (0.0, 0.05, 0.1)

_COMMON_HEAD = """\
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
    case_sensitive: false
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
"""
_REGEX_EXTRACTOR = """\
  - name: RegexEntityExtractor
    case_sensitive: false
    use_lookup_tables: true
    use_regexes: true
"""


def _tail(threshold: float, ambiguity: float) -> str:
    return f"""\
  - name: EntitySynonymMapper
  - name: FallbackClassifier
    threshold: {threshold}
    ambiguity_threshold: {ambiguity}
"""


CANDIDATES: dict[str, str] = {
    "light (n-grams + Rasa LogReg)": _COMMON_HEAD + """\
  - name: LogisticRegressionClassifier
    max_iter: 200
    random_state: 7
""" + _REGEX_EXTRACTOR + _tail(0.3, 0.05),
    "MiniLM + tf-idf LogReg (chosen)": """\
  - name: WhitespaceTokenizer
  - name: atelier_nlu.featurizer.SentenceEmbeddingFeaturizer
  - name: atelier_nlu.classifier.SentenceIntentClassifier
    dense_weight: 2.0
    C: 10.0
    neighbours: 3
    neighbour_temperature: 0.05
    neighbour_weight: 0.35
    out_of_scope_threshold: 0.5
""" + _REGEX_EXTRACTOR + _tail(FALLBACK_THRESHOLD, FALLBACK_AMBIGUITY),
}


def _evaluator():
    """scripts/eval_nlu.py, whose figures ``make eval-nlu`` prints."""
    spec = importlib.util.spec_from_file_location("eval_nlu", ROOT / "scripts" / "eval_nlu.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<entity>[^)]+)\)")


@dataclass
class Result:
    name: str
    train_seconds: float = 0.0
    intent_accuracy: float = 0.0
    intent_macro_f1: float = 0.0
    entity_f1: dict[str, float] = field(default_factory=dict)
    served_entity_f1: float = 0.0
    fallback_rate: float = 0.0
    served_accuracy: float = 0.0
    latency: Series | None = None
    sets: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Per set of SETS: served (accuracy, in-scope accuracy, out-of-scope false-accept)."""
    top: list[tuple[float, float, bool]] = field(default_factory=list)
    """(confidence of the best real intent, its lead over the next, was it right) per
    held-out message."""

    def p50(self) -> float:
        assert self.latency is not None
        return statistics.median(x for run in self.latency.runs for x in run)

    def p95(self) -> float:
        assert self.latency is not None
        return percentile([x for run in self.latency.runs for x in run], 0.95)


def rasa_bin() -> str:
    """The Rasa CLI: ATELIER_TEST_RASA_BIN, else the venv scripts/lib.sh would build."""
    configured = os.environ.get("ATELIER_TEST_RASA_BIN")
    if configured:
        return configured
    cache = _cache_dir()
    lines = "".join(f"{hashlib.sha256((ROOT / p).read_bytes()).hexdigest()}  {p}\n"
                    for p in sorted(["requirements/rasa.txt", "requirements/rasa310.lock"]))
    digest = hashlib.sha256(lines.encode()).hexdigest()[:16]
    candidate = cache / "venvs" / f"rasa310-{digest}" / "bin" / "rasa"
    if not candidate.exists():
        raise SystemExit(f"no Rasa venv at {candidate}: run 'make setup' or set "
                         "ATELIER_TEST_RASA_BIN")
    return str(candidate)


def heldout_examples() -> list[tuple[str, str, set[tuple[str, int, int]]]]:
    """(text, intent, {(entity, start, end)}) for every held-out example."""
    examples = []
    for block in yaml.safe_load(HELDOUT.read_text())["nlu"]:
        for line in block["examples"].splitlines():
            raw = line.strip()[2:].strip()
            if not raw:
                continue
            text, entities, pos = "", set(), 0
            for match in _ANNOTATION.finditer(raw):
                text += raw[pos:match.start()]
                start = len(text)
                text += match["text"]
                entities.add((match["entity"], start, len(text)))
                pos = match.end()
            examples.append((text + raw[pos:], block["intent"], entities))
    return examples


def _cache_dir() -> Path:
    return Path(os.environ.get("ATELIER_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "atelier")


def encoder_dir() -> str:
    """The chosen pipeline's sentence encoder, exported as scripts/setup.sh does."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "export_nlu_encoder.py"),
         str(_cache_dir() / "nlu-encoders")], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"exporting the NLU encoder failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1]


def _env(bot_dir: Path = ROOT / "bot") -> dict[str, str]:
    # bot/ on the path: the pipeline's own components (bot/atelier_nlu), wherever Rasa runs
    path = os.pathsep.join(p for p in [str(bot_dir), os.environ.get("PYTHONPATH")] if p)
    return {**os.environ, "PYTHONPATH": path, "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2"}


def _rasa(rasa: str, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([rasa, *args], cwd=cwd, env=env or _env(), capture_output=True,
                            text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"rasa {' '.join(args)} failed:\n{result.stderr[-3000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, payload: dict[str, str]) -> dict:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def _served(rasa: str, model: Path, bot_dir: Path = ROOT / "bot") -> Iterator[tuple[str, int]]:
    """``rasa run --enable-api`` of ``model`` with ``bot_dir``'s components: (URL, pid).

    With ``bot_dir``'s channel (its ``credentials.yml``), as the bot is served: the channel
    installs that folder's replacements of pieces of Rasa (``atelier_channel.speed_up_rasa``),
    which the parse runs through too.
    """
    port = _free_port()
    channel = ["--credentials", str(bot_dir / "credentials.yml")] if (
        bot_dir / "credentials.yml").is_file() else []
    server = subprocess.Popen(
        [rasa, "run", "--enable-api", "-m", str(model), "--port", str(port), "-i", "127.0.0.1",
         *channel],
        cwd=model.parent, env={**_env(bot_dir), "ATELIER_IDENTITY_SECRET": os.environ.get(
            "ATELIER_IDENTITY_SECRET") or secrets.token_hex(16)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/status", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"rasa run did not start for {model}") from None
                time.sleep(1)
        _post(f"{url}/model/parse", {"text": "warm up"})
        yield url, server.pid
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)


def serve_and_parse(rasa: str, model: Path, result: Result,
                    examples: list[tuple[str, str, set[tuple[str, int, int]]]]) -> None:
    """Time POST /model/parse on every held-out text; score what the server answers."""
    with _served(rasa, model) as (url, _):
        result.latency = Series(result.name)
        found = expected = correct = right_intent = fallbacks = 0
        for run in range(PARSE_RUNS):
            samples = []
            for text, intent, entities in examples:
                start = time.perf_counter()
                parsed = _post(f"{url}/model/parse", {"text": text})
                samples.append((time.perf_counter() - start) * 1000)
                if run:
                    continue
                predicted = {(e["entity"], e["start"], e["end"]) for e in parsed["entities"]}
                found, expected = found + len(predicted), expected + len(entities)
                correct += len(predicted & entities)
                name = parsed["intent"]["name"]
                ranking = [i for i in parsed["intent_ranking"] if i["name"] != "nlu_fallback"]
                lead = ranking[0]["confidence"] - ranking[1]["confidence"]
                result.top.append((ranking[0]["confidence"], lead,
                                   ranking[0]["name"] == intent))
                fallbacks += name == "nlu_fallback"
                right_intent += name == intent
            result.latency.runs.append(samples)
        precision, recall = correct / max(found, 1), correct / max(expected, 1)
        result.served_entity_f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        result.fallback_rate = fallbacks / len(examples)
        result.served_accuracy = right_intent / len(examples)
        evaluator = _evaluator()
        for name, path in SETS.items():
            predictions = [evaluator.Prediction(text, label, _post(
                f"{url}/model/parse", {"text": text})["intent"]["name"] or evaluator.FALLBACK)
                for text, label in evaluator.read_set(path)]
            scores = evaluator.score(predictions, top=0)
            result.sets[name] = (scores.accuracy, scores.in_scope_accuracy,
                                 scores.false_accept_rate)


def evaluate(name: str, pipeline: str, workdir: Path, rasa: str) -> Result:
    result = Result(name)
    slug = re.sub(r"[^a-z]+", "-", name.lower()).strip("-")[:30]
    config = workdir / f"{slug}.yml"
    config.write_text(f'recipe: default.v1\nlanguage: en\nassistant_id: atelier-bench\n'
                      f'pipeline:\n{pipeline}policies: []\n')
    start = time.perf_counter()
    _rasa(rasa, ["train", "nlu", "--nlu", str(ROOT / "nlu_data"), "--config", str(config),
                 "--domain", str(ROOT / "bot" / "domain"), "--out", str(workdir),
                 "--fixed-model-name", slug], ROOT / "bot",
          {**_env(), "ATELIER_NLU_ENCODER_DIR": encoder_dir()})
    result.train_seconds = time.perf_counter() - start
    model = workdir / f"{slug}.tar.gz"
    out = workdir / f"{slug}-results"
    _rasa(rasa, ["test", "nlu", "--nlu", str(HELDOUT), "--model", str(model), "--out", str(out),
                 "--no-plot"], ROOT / "bot")
    intents = json.loads((out / "intent_report.json").read_text())
    result.intent_accuracy = intents["accuracy"]
    result.intent_macro_f1 = intents["macro avg"]["f1-score"]
    for report in sorted(out.glob("*Extractor_report.json")) + sorted(
            out.glob("DIETClassifier_report.json")):
        figures = json.loads(report.read_text())
        result.entity_f1[report.name.removesuffix("_report.json")] = \
            figures["micro avg"]["f1-score"]
    serve_and_parse(rasa, model, result, heldout_examples())
    return result


def _table(results: list[Result], n_examples: int) -> str:
    lines = ["| pipeline | train s | intent accuracy | intent macro F1 | entity F1 (rasa test, "
             "per extractor) | entity F1 served | served accuracy / nlu_fallback | parse ms "
             "p50 / p95 | " + " | ".join(f"{name}: accuracy / in-scope / false-accept"
                                        for name in SETS) + " |",
             "|---|---|---|---|---|---|---|---|" + "---|" * len(SETS)]
    for r in results:
        entity = ", ".join(f"{k} {v:.3f}" for k, v in r.entity_f1.items()) or "–"
        lines.append(f"| {r.name} | {r.train_seconds:.0f} | {r.intent_accuracy:.3f} | "
                     f"{r.intent_macro_f1:.3f} | {entity} | {r.served_entity_f1:.3f} | "
                     f"{r.served_accuracy:.3f} / {r.fallback_rate:.1%} | "
                     f"{r.p50():.1f} / {r.p95():.1f} | " + " | ".join(
                         "{:.3f} / {:.3f} / {:.1%}".format(*r.sets[name]) for name in SETS)
                     + " |")
    return "\n".join(lines) + (
        f"\n\n{n_examples} held-out messages (bot/nlu_eval/heldout.yml, never trained on). "
        "Train seconds are the wall time of `rasa train nlu`, start-up included. Intent "
        "figures are from `rasa test nlu` (the intent before the FallbackClassifier); "
        "`served` figures come from `POST /model/parse` of `rasa run --enable-api`: exact "
        "entity spans after all extractors, and the share of messages turned into "
        f"`nlu_fallback` at threshold {FALLBACK_THRESHOLD}, ambiguity {FALLBACK_AMBIGUITY}. "
        f"Parse time is measured from this client, {PARSE_RUNS} passes over the set. "
        "The last columns score the served model (fallback included) on the development "
        "set the pipeline was tuned on and on the realistic set (scripts/eval_nlu.py's "
        "figures; false-accept: out-of-scope messages taken for a shopping or order action).")


def _thresholds(results: list[Result]) -> str:
    """What each FallbackClassifier threshold would do: right answers kept, wrong answers
    let through, messages sent to the fallback."""
    lines = ["| pipeline | ambiguity | " + " | ".join(f"threshold {t}" for t in THRESHOLDS)
             + " |", "|---|---|" + "---|" * len(THRESHOLDS)]
    for r in results:
        for a in AMBIGUITY:
            cells = []
            for t in THRESHOLDS:
                kept = [ok for c, lead, ok in r.top if c >= t and lead >= a]
                right, wrong = sum(kept) / len(r.top), (len(kept) - sum(kept)) / len(r.top)
                fallback = (len(r.top) - len(kept)) / len(r.top)
                cells.append(f"{right:.1%} right, {wrong:.1%} wrong, {fallback:.1%} fallback")
            lines.append(f"| {r.name} | {a} | " + " | ".join(cells) + " |")
    return ("FallbackClassifier `threshold` × `ambiguity_threshold` on the held-out set "
            "(share of all messages kept right, kept wrong, sent to `nlu_fallback`):\n\n"
            + "\n".join(lines))


def _figure(results: list[Result]) -> str:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    fig, (quality, speed) = plt.subplots(1, 2, figsize=(9, 3.6))
    labels = [r.name.split(" (")[0] if "(" in r.name else r.name for r in results]
    width = 0.25
    for i, (label, values) in enumerate([
            ("intent accuracy", [r.intent_accuracy for r in results]),
            ("intent macro F1", [r.intent_macro_f1 for r in results]),
            ("entity F1 served", [r.served_entity_f1 for r in results])]):
        quality.bar([x + i * width for x in range(len(results))], values, width, label=label)
    quality.set_xticks([x + width for x in range(len(results))], labels, fontsize=7)
    quality.set_ylim(0.5, 1.0)
    quality.legend(fontsize=7, loc="lower right")
    quality.set_title("held-out quality")
    speed.boxplot([[x for run in r.latency.runs for x in run] for r in results if r.latency],
                  showfliers=False)
    speed.set_xticks(range(1, len(results) + 1), labels, fontsize=7)
    speed.set_ylabel("parse ms")
    speed.set_title("POST /model/parse latency")
    fig.tight_layout()
    fig.savefig(REPORT_DIR / "nlu_choice.png", dpi=110)
    plt.close(fig)
    return "![NLU pipelines: held-out quality and parse latency](nlu_choice.png)"


def run(report: Report) -> list[Result]:
    rasa = rasa_bin()
    workdir = Path(tempfile.mkdtemp(prefix="atelier-nlu-bench-"))
    results = [evaluate(name, pipeline, workdir, rasa) for name, pipeline in CANDIDATES.items()]
    report.text("NLU: n-gram pipeline vs sentence embeddings + n-grams",
                _table(results, len(heldout_examples())) + "\n\n" + _thresholds(results)
                + "\n\n" + _figure(results))
    return results


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _model_and_code(spec: str) -> tuple[Path, Path]:
    """``MODEL.tar.gz[@BOT_DIR]``: a trained model and the bot/ folder with its components."""
    model, _, bot_dir = spec.partition("@")
    return Path(model).resolve(), Path(bot_dir).resolve() if bot_dir else ROOT / "bot"


def compare(specs: list[str]) -> str:
    """Serve the models side by side and ask each every message in turn: a Markdown table of
    parse p50 / p95 and CPU per parse, and how many answers differ from the first model's."""
    rasa = rasa_bin()
    texts = [text for text, _, _ in heldout_examples()] + [
        text for text, _ in _evaluator().read_set(SETS["dev"])]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(_served(rasa, *_model_and_code(spec)))
                   for spec in specs]
        load = os.getloadavg()
        samples: list[list[float]] = [[] for _ in specs]
        intents: list[list[str]] = [[] for _ in specs]
        cpu = [-_cpu_seconds(pid) for _, pid in servers]
        for run in range(PARSE_RUNS):
            for n, text in enumerate(texts):
                shift = (n + run) % len(servers)
                for i in [*range(shift, len(servers)), *range(shift)]:
                    start = time.perf_counter()
                    parsed = _post(f"{servers[i][0]}/model/parse", {"text": text})
                    samples[i].append((time.perf_counter() - start) * 1000)
                    if not run:
                        intents[i].append(parsed["intent"]["name"])
        cpu = [c + _cpu_seconds(pid) for c, (_, pid) in zip(cpu, servers, strict=True)]
        load_after = os.getloadavg()
    parses = PARSE_RUNS * len(texts)
    lines = ["| model | parse ms p50 / p95 | server CPU ms per parse | intents unlike the first |",
             "|---|---|---|---|"]
    for spec, times, seconds, answers in zip(specs, samples, cpu, intents, strict=True):
        differ = sum(a != b for a, b in zip(answers, intents[0], strict=True))
        lines.append(f"| {spec} | {statistics.median(times):.1f} / "
                     f"{percentile(times, 0.95):.1f} | {seconds / parses * 1000:.2f} | "
                     f"{differ} of {len(answers)} |")
    return "\n".join(lines) + (
        f"\n\n{len(texts)} messages (held-out and development sets) × {PARSE_RUNS} passes, "
        "each asked of every server in turn, the first server alternating. Load average "
        f"{load[0]:.1f} before, {load_after[0]:.1f} after ({os.cpu_count()} CPUs).\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", nargs="+", metavar="MODEL[@BOT_DIR]",
                        help="serve these trained models side by side instead")
    args = parser.parse_args()
    if args.compare:
        sys.stdout.write(compare(args.compare))
        return 0
    report = Report()
    run(report)
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / "nlu_choice.md"
    path.write_text("# NLU pipeline choice\n\n" + "\n\n".join(report.sections) + "\n")
    sys.stdout.write(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
