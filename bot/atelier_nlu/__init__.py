"""Atelier's own Rasa NLU components (``rasa train``/``rasa run`` import them from ``bot/``).

- :class:`atelier_nlu.featurizer.SentenceEmbeddingFeaturizer` gives every message the
  all-MiniLM-L6-v2 sentence embedding, computed by ONNX Runtime from the graph the app
  exports (``scripts/export_nlu_encoder.py``) and carried inside the trained model;
- :class:`atelier_nlu.classifier.SentenceIntentClassifier` decides the intent from that
  embedding and from tf-idf character and word n-grams, with one logistic regression.

Why: character n-grams alone know the spelling of the training lines, not their meaning,
so a shopper's synonym ("rebate", "ETA", "live agent") or an unfamiliar number pulled the
intent towards whatever line shared its letters. The embedding carries the meaning; the
n-grams keep typos and shop words close to their lines (figures in ``bot/config.yml``).
"""
