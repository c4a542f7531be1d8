"""The FAQ service held by the app (``app.state.faq``): answers, and hot reload of the files.

Construct it with the FAQ directory and a factory of the embedder, start its watcher, close
it on shutdown::

    faq = FaqService(directory=settings.faq_dir,
                     embedder_factory=lambda: get_embedder(settings.embedding_model))
    faq.start()      # returns at once: starts the watcher thread
    faq.reload()     # optional warm-up (blocking): embeds the FAQ; else the first question does
    ...
    faq.close()      # stops and joins the watcher

The watcher checks the directory every ``poll_seconds`` (size, modification time, then a
hash of the bytes) and applies added, changed and removed files within about a second;
only texts it has not embedded before are embedded. Until the index is first built the
watcher only checks and logs the files, so an app that is never asked a FAQ question (a
test, say) never loads the model for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.chat_words import spelled_out
from knowledge.embedding import Embedder, model_path
from knowledge.faq_index import Candidate, FaqIndex, PhrasingVectors
from knowledge.faq_library import FaqLibrary, ScanResult
from knowledge.faq_parser import FaqEntry, FaqProblem
from knowledge.faq_tokens import TokenEncoder

log = logging.getLogger(__name__)

# Chosen with `make eval-faq ARGS=--tune` on the tuning halves of the demo FAQ and of the
# bike workshop's FAQ at once (objective in knowledge.eval_faq: most right answers with
# >= 98% of out-of-scope questions declined and <= 3% wrong answers on each). The figures
# on the held-out halves, and on the climbing wall's FAQ that is never tuned on, are in
# knowledge.faq_index.FaqIndex. Re-run it after changing the scoring
# (tests/knowledge/test_faq_eval.py checks it still holds on the demo FAQ).
ANSWER_THRESHOLD = 1.77
ANSWER_MARGIN = 0.09
WORD_FLOOR = 0.35
"""Every content word of an answered question has a token of the entry this close
(``knowledge.faq_tokens``): "how do i clean my oven" is near "How do I clean my bike?"
as a sentence, but nothing in that entry is near "oven"."""
NEAR_VERBATIM = 0.85
"""A question this close (cosine) to one of an entry's phrasings, and closer to it than to
any other entry's, is answered with that entry whatever the margin: a FAQ may hold two
entries about nearly the same thing, and a shopper who types one of them nearly word for
word means that one. No out-of-scope question of the three evaluation sets comes this
close to a phrasing; 27 paraphrases do, all of them right."""
ROUTED_THRESHOLD = 1.37
ROUTED_MARGIN = 0.15
ROUTED_WORD_FLOOR = 0.35
ROUTED_CONFIDENCE = 0.50
"""The decision for a question the dialogue engine's NLU read as the ``faq`` intent with at
least ``ROUTED_CONFIDENCE``: that reading is a second, independent piece of evidence that
the message asks about the shop, so the FAQ needs less of its own. Chosen with ``make
eval-faq ARGS=--tune`` (``scripts/eval_faq_bot.py``: through the bot, with the trained
model's readings and the decision above fixed, on the tuning halves of the demo and bike
FAQs under the same objective). Through the bot, held-out halves, answered right / wrong /
out-of-scope declined, before this decision and the bot's wider routing to the FAQ
(``actions.faq_routing.reaches_faq``: out-of-scope messages, questions about
personalising or about the details of no piece) → with the routing only → with both:

- demo: 20.8 / 1.3 / 98.7 → 24.9 / 1.6 / 98.1 → 28.4 / 1.6 / 97.5;
- bike: 17.7 / 1.4 / 98.8 → 24.9 / 2.4 / 97.6 → 29.2 / 2.9 / 97.6;
- climbing (never tuned on): 8.7 / 0.0 / 95.5 → 19.6 / 0.0 / 95.5 → 28.3 / 0.0 / 95.5.

The share of paraphrases the bot puts to the FAQ at all went from 53.0 to 66.1% (demo),
54.5 to 83.3% (bike) and 50.0 to 82.6% (climbing). Measured on a CPU with AVX2 only; on
one with AVX-512 the trained model reads a few questions otherwise (demo: 28.1 / 1.6 /
96.8, 65.5% reached). Checking the FAQ with every message the NLU was not sure of, not
only questions (``action_fallback``), then brings that machine's figures to 29.1 / 1.6 /
96.8 (demo, 70.9% reached), 29.7 / 2.9 / 97.6 (bike, 84.2 → 91.9%) and 28.3 / 0.0 / 95.5
(climbing, 82.6 → 89.1%); the NLU's training lines for after-sale questions asked other
ways (``bot/config.yml``) then to 30.0 / 1.6 / 96.8 (demo, 71.6%) and 92.3% reached (bike);
spelling out chat shorthand (``knowledge.chat_words``) to 31.0 / 1.6 / 96.8 (demo); with the
NLU lines added after it, 30.7 / 1.6 / 96.8 (demo, 71.9% reached), 29.7 / 2.9 / 97.6 (bike,
90.9%) and 26.1 / 0.0 / 95.5 (climbing's held-out half, 87.0%)."""
CANDIDATES = 3
OFFER_SPREAD = 0.40
"""A question that is not answered is offered, as "did you mean…?", the closest entries
that score within this of the best one (``offered``) rather than always three: chosen with
``make eval-faq ARGS=--tune`` as the narrowest offer that shows the right entry to at most
1% fewer paraphrases than three do, on each tuning half. On the held-out halves a declined
paraphrase is offered 2.39 entries (demo) and 2.30 (bike) instead of 3, and 61.3% and
62.2% of all paraphrases are declined with their right entry offered (61.7% and 62.2%
with three); on the climbing wall's FAQ, never tuned on, 1.87 entries and 64.6% (64.6%).
With the right answers, 93.9%, 90.0% and 91.7% of shoppers reach the right entry in at
most one click. A declined out-of-scope question is offered 2.83, 2.72 and 2.27 entries."""


@dataclass(frozen=True)
class FaqAnswer:
    best: Candidate | None
    """The confident match, or None."""
    candidates: list[Candidate]
    """The closest entries, best first (up to three)."""
    offered: list[Candidate] = field(default_factory=list)
    """What to offer as "did you mean…?" when ``best`` is None (see ``OFFER_SPREAD``)."""


def is_routed(faq_intent: float | None) -> bool:
    """Whether the routed decision applies to a message the NLU read as the ``faq`` intent
    with this confidence (None: it read it otherwise)."""
    return faq_intent is not None and faq_intent >= ROUTED_CONFIDENCE


def is_near_verbatim(candidate: Candidate) -> bool:
    """Whether the question nearly repeats one of this entry's phrasings (``NEAR_VERBATIM``)."""
    return candidate.closest_phrasing and candidate.phrasing >= NEAR_VERBATIM


def is_confident(scores: Sequence[float], *, threshold: float, margin: float,
                 near_verbatim: bool = False, weakest: float = 1.0,
                 word_floor: float = 0.0) -> bool:
    """Whether the best of ``scores`` (best first) may be answered without asking: it
    nearly repeats a phrasing of its entry, or it reaches the threshold, leads the
    runner-up by the margin, and every content word of the question has a token of the
    entry at least ``word_floor`` close (``weakest``, see ``knowledge.faq_tokens``)."""
    if not scores:
        return False
    if near_verbatim:
        return True
    runner_up = scores[1] if len(scores) > 1 else -1.0
    return (scores[0] >= threshold and scores[0] - runner_up >= margin
            and weakest >= word_floor)


def offered(scores: Sequence[float], *, spread: float) -> int:
    """How many of the closest entries (``scores`` best first) to offer as "did you
    mean…?": those within ``spread`` of the best; the best is always offered."""
    if not scores:
        return 0
    return sum(scores[0] - score <= spread for score in scores)


def decide(candidates: list[Candidate], *, threshold: float, margin: float,
           word_floor: float = 0.0) -> Candidate | None:
    """The top candidate if it is confident enough to be answered, else None."""
    if not candidates:
        return None
    scores = [c.score for c in candidates]
    confident = is_confident(scores, threshold=threshold, margin=margin,
                             near_verbatim=is_near_verbatim(candidates[0]),
                             weakest=candidates[0].weakest, word_floor=word_floor)
    return candidates[0] if confident else None


class FaqService:
    def __init__(self, *, directory: Path, embedder_factory: Callable[[], Embedder],
                 threshold: float = ANSWER_THRESHOLD, margin: float = ANSWER_MARGIN,
                 word_floor: float = WORD_FLOOR, offer_spread: float = OFFER_SPREAD,
                 routed_threshold: float = ROUTED_THRESHOLD,
                 routed_margin: float = ROUTED_MARGIN,
                 routed_word_floor: float = ROUTED_WORD_FLOOR,
                 poll_seconds: float = 1.0) -> None:
        self.directory = directory
        self.threshold = threshold
        self.margin = margin
        self.word_floor = word_floor
        self.routed_threshold = routed_threshold
        self.routed_margin = routed_margin
        self.routed_word_floor = routed_word_floor
        self.offer_spread = offer_spread
        self.poll_seconds = poll_seconds
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._token_encoder: TokenEncoder | None = None
        self._library = FaqLibrary(directory)
        self._vectors = PhrasingVectors()
        self._index: FaqIndex | None = None
        self._stale = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # --- loading -------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    @property
    def token_encoder(self) -> TokenEncoder:
        """The embedder's graph with its token vectors exposed (made on first use)."""
        if self._token_encoder is None:
            embedder = self.embedder
            self._token_encoder = TokenEncoder(graph_path=embedder.graph_path,
                                               model_dir=model_path(embedder.name))
        return self._token_encoder

    def reload(self, *, build: bool = True) -> ScanResult:
        """Apply the files' changes since the last reload; safe from any thread.

        With ``build=False`` the files are only read and checked (problems are logged);
        the index is rebuilt by the next reload that builds.
        """
        with self._lock:
            result = self._library.scan()
            if result.changed:
                self._stale = True  # stays set if embedding fails, so the next try rebuilds
            if build and self._stale:
                started = time.perf_counter()
                entries = self._library.entries
                embedded = self._vectors.update(FaqIndex.texts_to_embed(entries),
                                                FaqIndex.texts_to_tokenise(entries),
                                                self.token_encoder)
                self._index = FaqIndex(entries, self._vectors, self.embedder.dimension)
                self._stale = False
                log.info("faq: serving %d entries (%d phrasings) from %s; %d text(s) "
                         "embedded in %.2f s", len(self._index), self._index.phrasing_count,
                         self.directory, embedded, time.perf_counter() - started)
            return result

    @property
    def index(self) -> FaqIndex:
        if self._index is None:
            self.reload()
        assert self._index is not None
        return self._index

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        return self.index.entries

    @property
    def problems(self) -> list[FaqProblem]:
        with self._lock:
            return self._library.problems

    @property
    def embedded_total(self) -> int:
        """How many texts were embedded since creation (a reload adds only new ones)."""
        return self._vectors.encoded_total

    # --- the watcher ---------------------------------------------------------------

    def start(self) -> None:
        """Start the polling watcher (idempotent). It checks the files at once, and keeps the
        index up to date once it has been built, by a first question or by ``reload()``
        (call that to warm up: embedding the demo FAQ takes a few seconds)."""
        if self._watcher is not None:
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="faq-watcher", daemon=True)
        self._watcher.start()

    def close(self, timeout: float = 60.0) -> None:
        """Stop the watcher and wait for it (a reload in progress finishes first)."""
        self._stop.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join(timeout)

    def _watch(self) -> None:
        while True:
            try:
                self.reload(build=self._index is not None)
            except Exception:  # noqa: BLE001 - the watcher must outlive a bad reload
                log.exception("faq: reload of %s failed; retrying", self.directory)
            if self._stop.wait(self.poll_seconds):
                return

    # --- answering -----------------------------------------------------------------

    def rank(self, question: str, *, limit: int = CANDIDATES) -> list[Candidate]:
        index = self.index
        if not len(index):
            return []
        question = spelled_out(question.strip())
        vector, tokens = self.token_encoder.encode_query(question)
        return index.rank(vector, question, tokens, limit=limit)

    def answer(self, question: str, *, faq_intent: float | None = None) -> FaqAnswer:
        """The confident answer, else the entries to offer. ``faq_intent`` is the NLU's
        confidence that the message is the ``faq`` intent, when it read it so: from
        ``ROUTED_CONFIDENCE`` on, the routed decision applies."""
        candidates = self.rank(question)
        if is_routed(faq_intent):
            best = decide(candidates, threshold=self.routed_threshold,
                          margin=self.routed_margin, word_floor=self.routed_word_floor)
        else:
            best = decide(candidates, threshold=self.threshold, margin=self.margin,
                          word_floor=self.word_floor)
        if best is not None:
            return FaqAnswer(best=best, candidates=candidates)
        count = offered([c.score for c in candidates], spread=self.offer_spread)
        return FaqAnswer(best=None, candidates=candidates, offered=candidates[:count])
