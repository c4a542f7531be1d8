"""Rasa featurizer: the MiniLM sentence embedding of every message, from inside the model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from atelier_nlu.encoder import EncoderSettings, SentenceEncoder, copy_encoder
from atelier_nlu.ngrams import canonical

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the all-MiniLM-L6-v2 embedding of a message's text as its sentence feature.

    Order numbers and email addresses are encoded in one canonical spelling
    (:func:`atelier_nlu.ngrams.canonical`). Training copies the exported encoder
    (``encoder_dir``, else ``ATELIER_NLU_ENCODER_DIR`` as ``scripts/setup.sh`` sets it) into
    the model's storage, so ``rasa run`` needs nothing outside the model. Only sentence
    features are set: the intent classifier reads one vector per message, and no component
    here needs one per token.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "encoder_dir": None,
            "threads": 1,
            "batch_size": 64,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers"]

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage,
                 resource: Resource, encoder: SentenceEncoder | None = None) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._encoder = encoder

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("threads") or 0) < 1 or int(config.get("batch_size") or 0) < 1:
            raise InvalidConfigException(f"{cls.__name__}: threads and batch_size must be >= 1")

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context.node_name, model_storage, resource)

    def _source(self) -> Path:
        configured = self._config.get("encoder_dir") or EncoderSettings().nlu_encoder_dir
        if not configured:
            raise InvalidConfigException(
                "no NLU encoder to train with: set ATELIER_NLU_ENCODER_DIR (scripts/setup.sh "
                "model exports it and sets it) or the featurizer's encoder_dir")
        return Path(configured)

    def train(self, training_data: TrainingData) -> Resource:
        """Store the encoder in the model (the training data needs no fitting)."""
        with self._model_storage.write_to(self._resource) as directory:
            copy_encoder(self._source(), directory)
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any
             ) -> SentenceEmbeddingFeaturizer:
        with model_storage.read_from(resource) as directory:
            encoder = SentenceEncoder(directory, threads=int(config["threads"]))
        return cls(config, execution_context.node_name, model_storage, resource, encoder)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._encoder is None:
            raise RuntimeError(f"{type(self).__name__} was used before it was trained")
        with_text = [m for m in messages if m.get(TEXT)]
        vectors = self._encoder.encode([canonical(m.get(TEXT)) for m in with_text],
                                       batch_size=int(self._config["batch_size"]))
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
