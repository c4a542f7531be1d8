import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding import Embedder, model_path
from knowledge.onnx_encoder import UnsupportedModel, graph_key, model_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def test_model_loads_offline_from_the_installed_package(embedder: Embedder) -> None:
    assert (model_path("all-MiniLM-L6-v2") / "model.safetensors").exists()
    assert embedder.dimension == 384


def test_vectors_are_normalised_and_meaningful(embedder: Embedder) -> None:
    vectors = embedder.encode(["a blue coffee mug", "a navy ceramic cup", "a leather belt"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def reference() -> tuple[list[str], np.ndarray]:
    """Texts and the vectors sentence-transformers gave them (see make_minilm_reference.py)."""
    texts = json.loads((FIXTURES / "minilm_reference.json").read_text(encoding="utf-8"))
    return texts, np.load(FIXTURES / "minilm_reference.npy")


def test_the_built_graph_gives_sentence_transformers_vectors(tmp_path: Path) -> None:
    # given texts short and long (three past the 256-token limit), and their reference vectors
    texts, expected = reference()
    assert expected.shape == (len(texts), 384)
    embedder = Embedder("all-MiniLM-L6-v2", cache_dir=tmp_path)
    # when the graph built from the weights encodes them in batches and one at a time
    batched = embedder.encode(texts, batch_size=4)
    single = np.stack([embedder.encode_one(text) for text in texts])
    # then every vector is the reference one
    for got in (batched, single):
        assert got.dtype == np.float32 and got.shape == expected.shape
        cosines = (got * expected).sum(axis=1)
        assert np.all(cosines > 0.99999), (cosines.min(), texts[int(cosines.argmin())][:40])
        assert np.abs(got - expected).max() < 1e-4
    assert list(tmp_path.glob("*.onnx")) == [embedder.graph_path]


def test_truncation_keeps_the_first_256_tokens(embedder: Embedder) -> None:
    # given a text far past the limit and the same text with more appended
    long = "how long does shipping take to Canada " * 40
    # then both are read up to the limit only, so they get the same vector
    assert float(embedder.encode_one(long) @ embedder.encode_one(long + " and Peru?")) > 0.99999


def test_the_built_graph_is_reused_and_a_changed_model_builds_anew(tmp_path: Path) -> None:
    # given a graph built once into the cache
    first = Embedder("all-MiniLM-L6-v2", cache_dir=tmp_path)
    built = first.graph_path
    stamp = built.stat().st_mtime_ns
    # when another embedder of the same model starts
    again = Embedder("all-MiniLM-L6-v2", cache_dir=tmp_path)
    # then it loads that file rather than building again
    assert again.graph_path == built and built.stat().st_mtime_ns == stamp
    # and a model whose files differ gets a graph of its own
    copy = tmp_path / "model-copy"
    shutil.copytree(model_path("all-MiniLM-L6-v2"), copy)
    with (copy / "config.json").open("a") as f:
        f.write("\n")
    assert graph_key(copy) != graph_key(model_path("all-MiniLM-L6-v2"))


@pytest.mark.parametrize(("file", "change", "message"), [
    ("config.json", {"model_type": "roberta"}, "not bert"),
    ("config.json", {"hidden_act": "relu"}, "not gelu"),
    ("1_Pooling/config.json", {"pooling_mode_mean_tokens": False,
                               "pooling_mode_cls_token": True}, "not mean pooling"),
])
def test_a_model_the_builder_does_not_know_is_refused(tmp_path: Path, file: str,
                                                      change: dict, message: str) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_path("all-MiniLM-L6-v2"), copy,
                    ignore=shutil.ignore_patterns("*.safetensors"))
    config = json.loads((copy / file).read_text())
    (copy / file).write_text(json.dumps({**config, **change}))
    with pytest.raises(UnsupportedModel, match=message):
        model_config(copy)


def test_encoding_needs_neither_torch_nor_sentence_transformers(tmp_path: Path) -> None:
    # given a fresh process that encodes a query and a batch
    code = ("import sys\nfrom pathlib import Path\nfrom knowledge.embedding import Embedder\n"
            "e = Embedder('all-MiniLM-L6-v2', cache_dir=Path(sys.argv[1]))\n"
            "e.encode(['a mug', 'a ring']); e.encode_one('a gift')\n"
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, timeout=600, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    # then none of them was imported
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
