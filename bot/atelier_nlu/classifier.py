"""Rasa intent classifier: one logistic regression over meaning and spelling, and neighbours.

Its features are the message's dense sentence features (the MiniLM embedding of
:class:`atelier_nlu.featurizer.SentenceEmbeddingFeaturizer`), scaled by ``dense_weight``,
next to tf-idf character and word n-grams of the text (:mod:`atelier_nlu.ngrams`). Rasa's
own ``LogisticRegressionClassifier`` fixes C at 1, which leaves a unit-length embedding
under-used (figures in ``bot/config.yml``), and pickles its model; this one stores the
weights and vocabularies as an array file and JSON.

The regression's probabilities are blended with the training lines nearest in meaning:
for each intent, the mean cosine similarity of the message's embedding to its
``neighbours`` closest training lines, turned into probabilities by a softmax at
``neighbour_temperature``, weighs ``neighbour_weight`` of the answer. A linear model draws
one boundary per intent; an unusual phrasing that sits right next to a few lines of its
intent is still read as they are (figures in ``bot/config.yml``).
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack

from atelier_nlu.encoder import CACHED_CHARS, CACHED_TEXTS
from atelier_nlu.featurizer import SentenceEmbeddingFeaturizer
from atelier_nlu.ngrams import NgramTfidf

logger = logging.getLogger(__name__)

STATE_FILE = "classifier.json"
ARRAYS_FILE = "weights.npz"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class SentenceIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression over [embedding · w ‖ char tf-idf ‖ word tf-idf], blended with
    the nearest training lines in meaning."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [SentenceEmbeddingFeaturizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "dense_weight": 2.0,
            "C": 10.0,
            "char_ngrams": [2, 5],
            "word_ngrams": [1, 2],
            "min_df": 2,
            "class_weight": "balanced",
            "max_iter": 1000,
            "tol": 1e-3,
            "ranking_length": 10,
            "neighbours": 3,
            "neighbour_temperature": 0.05,
            "neighbour_weight": 0.35,
            # A message is called out of scope only when the model is sure of it; below
            # this it is not understood (nlu_fallback: the bot asks to rephrase and, the
            # second time, offers a person). Everything unfamiliar, keyboard mashing
            # included, lands nearest the broad out-of-scope class, but a real everyday
            # question is recognised as one with more confidence (bot/config.yml).
            "out_of_scope_intent": "out_of_scope",
            "out_of_scope_threshold": 0.65,
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.classes: list[str] = []
        self.ngrams: list[NgramTfidf] = []
        self.dense_dimension = 0
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None
        self._weights: list[np.ndarray] | None = None
        # The training lines' unit-length embeddings and the index of each one's intent,
        # grouped by intent.
        self.examples: np.ndarray | None = None
        self.example_intents: np.ndarray | None = None
        self._lines: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # The probabilities of the last short messages parsed alone, by text and embedding
        # (as the encoder remembers their vectors, atelier_nlu.encoder).
        self._remembered: OrderedDict[tuple[str, bytes], np.ndarray] = OrderedDict()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        for key in ("char_ngrams", "word_ngrams"):
            low, high = config.get(key, cls.get_default_config()[key])
            if not 1 <= low <= high:
                raise InvalidConfigException(f"{cls.__name__}: bad {key} {[low, high]}")
        defaults = cls.get_default_config()
        weight = float(config.get("neighbour_weight", defaults["neighbour_weight"]))
        if not 0.0 <= weight <= 1.0:
            raise InvalidConfigException(f"{cls.__name__}: neighbour_weight {weight} is not "
                                         "between 0 and 1")
        if int(config.get("neighbours", defaults["neighbours"])) < 1 or float(config.get(
                "neighbour_temperature", defaults["neighbour_temperature"])) <= 0:
            raise InvalidConfigException(f"{cls.__name__}: neighbours must be >= 1 and "
                                         "neighbour_temperature > 0")

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    def _dense(self, messages: list[Message]) -> np.ndarray:
        return self._embeddings(messages) * float(self.config["dense_weight"])

    @staticmethod
    def _embeddings(messages: list[Message]) -> np.ndarray:
        """The messages' dense sentence features, one row each.

        Read from the features themselves, side by side as ``get_dense_features`` combines
        them, without the deep copy that call makes of each message's features.
        """
        rows = []
        for message in messages:
            found = [f.features.reshape(-1) for f in message.features
                     if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE
                     and f.is_dense()]
            if not found:
                raise ValueError(f"no sentence embedding for {message.get(TEXT)!r}: the "
                                 "pipeline needs SentenceEmbeddingFeaturizer before this")
            rows.append(np.concatenate(found))
        return np.vstack(rows)

    def _features(self, messages: list[Message]) -> csr_matrix:
        texts = [message.get(TEXT) or "" for message in messages]
        blocks = [csr_matrix(self._dense(messages))]
        blocks += [part.transform(texts) for part in self.ngrams]
        return hstack(blocks, format="csr")

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.debug("%s: no intent examples, nothing to train", type(self).__name__)
            return self._resource
        texts = [e.get(TEXT) for e in examples]
        self.ngrams = [
            NgramTfidf("char_wb", tuple(self.config["char_ngrams"]), self.config["min_df"]),
            NgramTfidf("word", tuple(self.config["word_ngrams"]), self.config["min_df"]),
        ]
        for part in self.ngrams:
            part.fit(texts)
        features = self._features(examples)
        self.dense_dimension = features.shape[1] - sum(len(p.vocabulary or {})
                                                       for p in self.ngrams)
        model = LogisticRegression(C=float(self.config["C"]), max_iter=int(
            self.config["max_iter"]), tol=float(self.config["tol"]),
            class_weight=self.config["class_weight"], multi_class="multinomial",
            solver="lbfgs")
        model.fit(features, [e.get(INTENT) for e in examples])
        self.classes = [str(c) for c in model.classes_]
        self.coef = np.asarray(model.coef_, dtype=np.float64)
        self._weights = None
        self.intercept = np.asarray(model.intercept_, dtype=np.float64)
        intents = np.array([self.classes.index(e.get(INTENT)) for e in examples],
                           dtype=np.int32)
        order = np.argsort(intents, kind="stable")
        self.examples = self._embeddings(examples).astype(np.float32)[order]
        self.example_intents = intents[order]
        self._lines = None
        self._remembered.clear()
        self.persist()
        return self._resource

    def _blocks(self) -> list[np.ndarray]:
        """The weights per feature block (embedding, then each n-gram kind), transposed."""
        assert self.coef is not None
        if self._weights is None:
            edges = np.cumsum([0, self.dense_dimension]
                              + [len(part.vocabulary or {}) for part in self.ngrams])
            self._weights = [np.ascontiguousarray(self.coef[:, start:end].T)
                             for start, end in zip(edges[:-1], edges[1:], strict=True)]
        return self._weights

    def probabilities(self, messages: list[Message]) -> np.ndarray:
        """Softmax of the linear scores: what ``predict_proba`` of the fitted model gives.

        The scores are summed block by block (a dense product for the embedding, the
        weights of each message's own n-grams for the others) rather than over one stacked
        sparse matrix: a message parses in a fraction of the time.
        """
        assert self.intercept is not None
        dense, *ngrams = self._blocks()
        embeddings = self._embeddings(messages)
        # numpy's own loops rather than BLAS, as in neighbour_similarity
        scores = np.einsum("md,dc->mc", embeddings * float(self.config["dense_weight"]),
                           dense) + self.intercept
        for row, message in enumerate(messages):
            text = message.get(TEXT) or ""
            for part, weights in zip(self.ngrams, ngrams, strict=True):
                columns, values = part.row(text)
                scores[row] += values @ weights[columns]
        linear = _softmax(scores)
        weight = float(self.config["neighbour_weight"])
        if weight == 0.0 or self.examples is None or self.example_intents is None:
            return linear
        return (1.0 - weight) * linear + weight * _softmax(
            self.neighbour_similarity(embeddings) / float(self.config["neighbour_temperature"]))

    def neighbour_similarity(self, embeddings: np.ndarray) -> np.ndarray:
        """Per message and intent: mean cosine of its ``neighbours`` closest training lines.

        An intent with fewer training lines than ``neighbours`` is averaged over those it
        has. The similarities are laid out one row per intent (padded with -inf), so one
        partition finds every intent's closest lines.

        The product is numpy's own loop, not BLAS: a message against a few thousand lines is
        big enough for OpenBLAS to hand half of it to a second thread, whose waiting cost
        the served bot more CPU than the whole product (about 2-4 ms against 0.3 ms per
        message, measured on a 2-core machine under load).
        """
        assert self.examples is not None and self.example_intents is not None
        similarity = np.einsum("md,ld->ml", embeddings.astype(np.float32), self.examples)
        intents, ranks, lines = self._layout()
        k = min(int(self.config["neighbours"]), ranks.max(initial=-1) + 1)
        if k == 0:
            return np.full((len(embeddings), len(self.classes)), -1.0)
        padded = np.full((len(embeddings), len(self.classes), ranks.max() + 1), -np.inf,
                         dtype=np.float32)
        padded[:, intents, ranks] = similarity
        closest = np.partition(padded, padded.shape[2] - k, axis=2)[:, :, -k:]
        closest[np.isneginf(closest)] = 0.0
        out = closest.sum(axis=2, dtype=np.float64) / np.maximum(np.minimum(lines, k), 1)
        out[:, lines == 0] = -1.0
        return out

    def _layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each training line's intent and rank within it; the number of lines per intent."""
        assert self.example_intents is not None
        if self._lines is None:
            # The lines are grouped by intent (train), so each intent's are one slice.
            starts = np.searchsorted(self.example_intents, np.arange(len(self.classes) + 1))
            ranks = np.arange(len(self.example_intents)) - starts[self.example_intents]
            self._lines = (self.example_intents.astype(np.intp), ranks, np.diff(starts))
        return self._lines

    def process(self, messages: list[Message]) -> list[Message]:
        if self.coef is None:
            return messages
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return messages
        length = int(self.config["ranking_length"])
        for message, probabilities in zip(with_text, self._answer(with_text), strict=True):
            ranking = [{"name": self.classes[i], "confidence": float(probabilities[i])}
                       for i in np.argsort(-probabilities)]
            unsure = float(self.config["out_of_scope_threshold"])
            if (ranking[0]["name"] == self.config["out_of_scope_intent"]
                    and ranking[0]["confidence"] < unsure):
                ranking.insert(0, {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME,
                                   "confidence": unsure})
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[:length] if length > 0 else ranking,
                        add_to_output=True)
        return messages

    def _answer(self, messages: list[Message]) -> np.ndarray:
        """:meth:`probabilities`, remembered for one short message parsed alone.

        The served bot parses one message at a time, and short ones ("yes", "cheaper",
        "show my cart", a button's payload) come again and again: the answer for the same
        text and the same embedding (its bytes) is the one computed the first time. The
        last :data:`~atelier_nlu.encoder.CACHED_TEXTS` are kept.
        """
        text = messages[0].get(TEXT) or ""
        if len(messages) != 1 or len(text) > CACHED_CHARS:
            return self.probabilities(messages)
        key = (text, self._embeddings(messages).tobytes())
        row = self._remembered.pop(key, None)
        if row is None:
            row = self.probabilities(messages)[0]
            row.setflags(write=False)
        self._remembered[key] = row  # the most recently used last
        while len(self._remembered) > CACHED_TEXTS:
            self._remembered.popitem(last=False)
        return row[None, :]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def persist(self) -> None:
        assert self.coef is not None and self.intercept is not None
        with self._model_storage.write_to(self._resource) as directory:
            state = {"classes": self.classes, "dense_dimension": self.dense_dimension,
                     "ngrams": [part.to_dict() for part in self.ngrams]}
            (directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
            neighbours = ({} if self.examples is None else
                          {"examples": self.examples, "example_intents": self.example_intents})
            np.savez(directory / ARRAYS_FILE, coef=self.coef, intercept=self.intercept,
                     **neighbours,
                     **{f"idf{i}": part.idf for i, part in enumerate(self.ngrams)})

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any
             ) -> SentenceIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
                with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
                    component.coef = arrays["coef"]
                    component.intercept = arrays["intercept"]
                    idf = [arrays[f"idf{i}"] for i in range(len(state["ngrams"]))]
                    if "examples" in arrays:
                        component.examples = arrays["examples"]
                        component.example_intents = arrays["example_intents"]
        except (ValueError, FileNotFoundError):
            logger.debug("%s: no trained model in %s", cls.__name__, resource.name)
            return component
        component.classes = list(state["classes"])
        component.dense_dimension = int(state["dense_dimension"])
        component.ngrams = [NgramTfidf.from_dict(part, weights)
                            for part, weights in zip(state["ngrams"], idf, strict=True)]
        return component


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
