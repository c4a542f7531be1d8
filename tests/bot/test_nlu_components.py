"""The NLU pipeline's own components (bot/atelier_nlu), run in Rasa's venv.

The trained model (ATELIER_TEST_RASA_MODEL) must carry its sentence encoder, and that
encoder must give the vectors the app's MiniLM gives (the graph is the app's, quantised);
the classifier's n-gram features must be scikit-learn's tf-idf, which its stored state
replaces.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.bot.rasa_venv import rasa_python

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["where is my order 448120993817 please", "hi", "can i get a refund of €49.99",
         "i want to lodge a complaint about your service, three weeks and still no parcel"]


def _in_rasa_venv(code: str, *args: str) -> str:
    result = subprocess.run([rasa_python(), "-c", code, *args], capture_output=True,
                            text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO / "bot")})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _model_files(into: Path) -> Path:
    """The trained model (ATELIER_TEST_RASA_MODEL), unpacked into ``into``."""
    model = os.environ.get("ATELIER_TEST_RASA_MODEL")
    if not model:
        pytest.fail("ATELIER_TEST_RASA_MODEL is not set: run the suite with 'make test'.",
                    pytrace=False)
    with tarfile.open(model) as archive:
        archive.extractall(into, filter="data")
    return into


def test_the_model_carries_its_encoder_and_encodes_as_the_app_does(tmp_path: Path) -> None:
    # given the files of the trained model
    found = [p.parent for p in _model_files(tmp_path).rglob("encoder.onnx")]
    # when Rasa's side encodes texts with the encoder found inside it
    assert len(found) == 1 and (found[0] / "tokenizer.json").is_file(), found
    identity = json.loads((found[0] / "encoder.json").read_text())
    vectors = np.array(json.loads(_in_rasa_venv(
        "import json, sys\nfrom pathlib import Path\n"
        "from atelier_nlu.encoder import SentenceEncoder\n"
        "texts = json.loads(sys.argv[2])\n"
        "print(json.dumps(SentenceEncoder(Path(sys.argv[1])).encode(texts).tolist()))",
        str(found[0]), json.dumps(TEXTS))))
    # then they are the app's MiniLM vectors, up to the int8 quantisation
    from knowledge.embedding import Embedder

    expected = Embedder(identity["name"]).encode(TEXTS)
    assert vectors.shape == expected.shape == (len(TEXTS), identity["dimension"])
    cosines = (vectors * expected).sum(axis=1)
    assert np.all(cosines > 0.97), cosines


def test_ngram_tfidf_is_scikit_learns_tfidf_on_normalised_text() -> None:
    out = _in_rasa_venv(
        "import json, sys\nimport numpy as np\n"
        "from sklearn.feature_extraction.text import TfidfVectorizer\n"
        "from atelier_nlu.ngrams import WORD, NgramTfidf, normalise\n"
        "texts = json.loads(sys.argv[1])\nresult = []\n"
        "for analyzer, grams in [('char_wb', (2, 5)), ('word', (1, 2))]:\n"
        "    ours = NgramTfidf(analyzer, grams, 1).fit(texts)\n"
        "    theirs = TfidfVectorizer(analyzer=analyzer, ngram_range=grams, lowercase=False,\n"
        "                             token_pattern=WORD, sublinear_tf=True)\n"
        "    expected = theirs.fit_transform([normalise(t) for t in texts]).toarray()\n"
        "    stored = NgramTfidf.from_dict(ours.to_dict(), ours.idf)\n"
        "    got = stored.transform(texts).toarray()\n"
        "    unseen = ['qqq', '']\n"
        "    rows = np.zeros((len(texts) + len(unseen), expected.shape[1]))\n"
        "    for i, text in enumerate(texts + unseen):\n"
        "        columns, values = stored.row(text)\n"
        "        rows[i, columns] = values\n"
        "    wanted = np.vstack([expected, stored.transform(unseen).toarray()])\n"
        "    result.append([ours.vocabulary == theirs.vocabulary_,\n"
        "                   float(np.abs(got - expected).max()),\n"
        "                   float(np.abs(rows - wanted).max()), float(np.abs(rows).sum())])\n"
        "print(json.dumps([result, normalise('Order #448120 x2 €49.99')]))",
        json.dumps(TEXTS * 2 + ["Where's my ORDER 552310?"]))
    comparisons, normalised = json.loads(out)
    # the stored state gives scikit-learn's rows, one matrix at a time or one text at a
    # time (a text without a known n-gram has none)
    assert all(same and diff < 1e-12 and row_diff < 1e-12 and total > 0
               for same, diff, row_diff, total in comparisons), comparisons
    assert normalised == "order at-000000 x0 €00.00"


NEIGHBOUR_CHECK = r'''
import json, sys
from pathlib import Path
import numpy as np
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from atelier_nlu.classifier import SentenceIntentClassifier

def message(text, vector, intent=None):
    data = {TEXT: text, **({INTENT: intent} if intent else {})}
    m = Message(data=data)
    unit = np.asarray(vector, dtype=np.float32)
    m.add_features(Features((unit / np.linalg.norm(unit))[None, :], "sentence", TEXT, "test"))
    return m

lines = json.loads(sys.argv[2])
config = {"neighbours": int(sys.argv[3]), "neighbour_temperature": 0.1,
          "neighbour_weight": 0.4, "min_df": 1}
storage = LocalModelStorage(Path(sys.argv[1]))
resource = Resource("intents")
trained = SentenceIntentClassifier(config, storage, resource)
trained.train(TrainingData([message(t, v, i) for t, v, i in lines]))
loaded = SentenceIntentClassifier.load({**SentenceIntentClassifier.get_default_config(),
                                       **config}, storage, resource, None)
linear = SentenceIntentClassifier({**config, "neighbour_weight": 0.0}, storage, resource)
for name in ("classes", "ngrams", "dense_dimension", "coef", "intercept"):
    setattr(linear, name, getattr(trained, name))
query = [message("a parcel refund", [0.9, 0.1, 0.3]), message("hello", [0.1, 0.2, 0.9]),
         message("zzqx", [0.2, 0.9, 0.1])]
# What the fitted regression was given: the stacked sparse features, times its weights
scores = np.asarray(trained._features(query) @ trained.coef.T) + trained.intercept
stacked = np.exp(scores - scores.max(axis=1, keepdims=True))
print(json.dumps({
    "stacked": (stacked / stacked.sum(axis=1, keepdims=True)).tolist(),
    "classes": trained.classes,
    "similarity": trained.neighbour_similarity(np.vstack(
        [m.get_dense_features(TEXT)[1].features for m in query])).tolist(),
    "blended": trained.probabilities(query).tolist(),
    "loaded": loaded.probabilities(query).tolist(),
    "linear": linear.probabilities(query).tolist()}))
'''


@pytest.mark.parametrize("k", [2, 3])
def test_intent_probabilities_blend_the_linear_model_with_the_nearest_training_lines(
        tmp_path: Path, k: int) -> None:
    # given training lines of two intents with known unit vectors (three of one, two of
    # the other), a classifier using the k nearest lines of each intent (an intent with
    # fewer lines is averaged over those it has), weight 0.4, T 0.1
    lines = [("refund please", [1, 0, 0], "request_refund"),
             ("money back", [1, 1, 0], "request_refund"),
             ("refund my parcel", [0, 0, 1], "request_refund"),
             ("hi there", [0, 1, 1], "greet"),
             ("hello", [0, 1, 0], "greet")]
    # when it is trained, stored, loaded and asked about three messages (the last one
    # shares no n-gram with the training lines)
    out = json.loads(_in_rasa_venv(NEIGHBOUR_CHECK, str(tmp_path), json.dumps(lines), str(k)))
    # then each intent's neighbour similarity is the mean cosine of its k nearest lines
    units = {text: np.array(v, float) / np.linalg.norm(v) for text, v, _ in lines}
    queries = [np.array(v) / np.linalg.norm(v)
               for v in ([0.9, 0.1, 0.3], [0.1, 0.2, 0.9], [0.2, 0.9, 0.1])]
    assert out["classes"] == ["greet", "request_refund"]
    expected = [[float(np.mean(sorted(q @ units[t] for t, _, i in lines if i == intent)[-k:]))
                 for intent in out["classes"]] for q in queries]
    assert np.allclose(out["similarity"], expected, atol=1e-6)
    # and the linear part is the fitted regression's answer on its stacked features
    assert np.allclose(out["linear"], out["stacked"], atol=1e-12)
    # and the probabilities are 0.6 of the linear model's and 0.4 of the softmax of those
    # similarities at temperature 0.1, the same after loading the stored model
    scaled = np.array(expected) / 0.1
    neighbours = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    neighbours /= neighbours.sum(axis=1, keepdims=True)
    wanted = 0.6 * np.array(out["linear"]) + 0.4 * neighbours
    assert np.allclose(out["blended"], wanted, atol=1e-6)
    assert np.allclose(out["loaded"], out["blended"], atol=1e-9)
    assert not np.allclose(out["linear"], out["blended"], atol=1e-3)


ENCODER_CACHE = r'''
import json, sys
from pathlib import Path
import numpy as np
from atelier_nlu.encoder import CACHED_CHARS, SentenceEncoder

directory = Path(sys.argv[1])
remembering, plain = SentenceEncoder(directory, cached_texts=2), SentenceEncoder(
    directory, cached_texts=0)
runs = []
session_run = remembering._session.run
remembering._session.run = lambda *a, **k: runs.append(1) or session_run(*a, **k)
long = "a gift for my sister, she likes blue and anything with flowers"
assert len(long) > CACHED_CHARS

def encode(*texts):
    before = len(runs)
    vectors = remembering.encode(list(texts))
    return vectors, len(runs) - before

found = {}
first, found["hi"] = encode("hi")
first[:] = 0.0  # what the caller does with its array is its own
again, found["hi again"] = encode("hi")
found["same as never remembered"] = bool(
    again.dtype == np.float32 and again.shape == (1, plain.dimension)
    and np.array_equal(again, plain.encode(["hi"])))
_, found["long"] = encode(long)
_, found["long again"] = encode(long)
_, found["batch"] = encode("hi", "yes")
_, found["batch again"] = encode("hi", "yes")
_, found["yes"] = encode("yes")
_, found["show my cart"] = encode("show my cart")
_, found["hi after two others"] = encode("hi")
_, found["show my cart again"] = encode("show my cart")
print(json.dumps(found))
'''


def test_a_short_text_encoded_again_is_remembered_not_run_again(tmp_path: Path) -> None:
    # given the trained model's encoder, remembering two texts
    (directory,) = [p.parent for p in _model_files(tmp_path).rglob("encoder.onnx")]
    # when it encodes short and long texts, alone and in batches
    found = json.loads(_in_rasa_venv(ENCODER_CACHE, str(directory)))
    # then a short text alone runs through the graph once, and its vector is the one an
    # encoder remembering nothing gives (whatever the first caller did with its array)
    assert found["hi"] == 1 and found["hi again"] == 0
    assert found["same as never remembered"]
    # and a long text, or a batch of several, runs every time
    assert found["long"] == found["long again"] == 1
    assert found["batch"] == found["batch again"] == 1
    # and only the last two texts are remembered
    assert found["yes"] == found["show my cart"] == found["hi after two others"] == 1
    assert found["show my cart again"] == 0


CLASSIFIER_MEMORY = r'''
import json, sys
from pathlib import Path
import numpy as np
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
import atelier_nlu.classifier
from atelier_nlu.classifier import SentenceIntentClassifier

atelier_nlu.classifier.CACHED_TEXTS = 2

def message(text, vector, intent=None):
    m = Message(data={TEXT: text, **({INTENT: intent} if intent else {})})
    unit = np.asarray(vector, dtype=np.float32)
    m.add_features(Features((unit / np.linalg.norm(unit))[None, :], "sentence", TEXT, "test"))
    return m

lines = [("refund please", [1, 0, 0], "request_refund"), ("money back", [1, 1, 0],
         "request_refund"), ("hi there", [0, 1, 1], "greet"), ("hello", [0, 1, 0], "greet")]
classifier = SentenceIntentClassifier({"min_df": 1}, LocalModelStorage(Path(sys.argv[1])),
                                      Resource("intents"))
classifier.train(TrainingData([message(t, v, i) for t, v, i in lines]))
computed = []
probabilities = classifier.probabilities
classifier.probabilities = lambda m: computed.append(len(m)) or probabilities(m)
long = "i would like my money back for the parcel that came broken yesterday"

def ask(*asked):
    before = len(computed)
    parsed = classifier.process([message(t, v) for t, v in asked])
    return [m.get("intent_ranking") for m in parsed], len(computed) - before

found = {}
first, found["refund"] = ask(("refund", [0.9, 0.1, 0.3]))
again, found["refund again"] = ask(("refund", [0.9, 0.1, 0.3]))
found["same answer"] = first == again == [[
    {"name": classifier.classes[i], "confidence": float(p)} for p, i in sorted(
        ((p, i) for i, p in enumerate(probabilities([message("refund", [0.9, 0.1, 0.3])])[0])),
        reverse=True)]]
_, found["refund, another embedding"] = ask(("refund", [0.1, 0.9, 0.3]))
_, found["long"] = ask((long, [0.9, 0.1, 0.3]))
_, found["long again"] = ask((long, [0.9, 0.1, 0.3]))
_, found["two at once"] = ask(("hey", [0, 1, 0]), ("cash", [1, 0, 0]))
_, found["hey"] = ask(("hey", [0, 1, 0]))
_, found["refund after two others"] = ask(("refund", [0.9, 0.1, 0.3]))
_, found["hey again"] = ask(("hey", [0, 1, 0]))
print(json.dumps(found))
'''


def test_the_answer_for_a_short_message_parsed_alone_is_remembered(tmp_path: Path) -> None:
    # given a trained classifier remembering two answers
    # when it is asked about short and long messages, alone and together
    found = json.loads(_in_rasa_venv(CLASSIFIER_MEMORY, str(tmp_path)))
    # then a short message asked again with the same embedding is answered without the
    # sums, the same answer as computed
    assert found["refund"] == 1 and found["refund again"] == 0 and found["same answer"]
    # and the same text with another embedding, a long message, or several messages at
    # once are computed every time
    assert found["refund, another embedding"] == 1
    assert found["long"] == found["long again"] == found["two at once"] == 1
    # and only the last two answers are kept
    assert found["hey"] == found["refund after two others"] == 1
    assert found["hey again"] == 0
