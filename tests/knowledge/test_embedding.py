import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding import Embedder, model_path
from knowledge.onnx_encoder import graph_key


def test_model_loads_offline_from_the_installed_package(embedder: Embedder) -> None:
    assert (model_path("all-MiniLM-L6-v2") / "model.safetensors").exists()
    assert embedder.dimension == 384


def test_vectors_are_normalised_and_meaningful(embedder: Embedder) -> None:
    vectors = embedder.encode(["a blue coffee mug", "a navy ceramic cup", "a leather belt"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


QUERIES = ["blue mug", "a gift for my sister, she likes blue, under 60 euros",
           "¿tienen anillos de plata?", "WALNUT chopping board!!", "x",
           "how long does shipping take to Canada " * 40]  # the last one is truncated


def test_onnx_query_vectors_are_the_torch_vectors(embedder: Embedder,
                                                  tmp_path: Path) -> None:
    # given the same model with single queries through ONNX Runtime and through torch
    onnx = Embedder("all-MiniLM-L6-v2", query_backend="onnx", cache_dir=tmp_path)
    torch_one = Embedder("all-MiniLM-L6-v2", query_backend="torch")
    # when each encodes the same queries one at a time
    for text in QUERIES:
        a, b = onnx.encode_one(text), torch_one.encode_one(text)
        # then the vectors agree with each other and with the batch (index) path
        assert a.dtype == np.float32 and a.shape == (384,)
        assert float(a @ b) > 0.99999, text
        assert float(a @ embedder.encode([text])[0]) > 0.99999, text
    assert onnx.query_backend == "onnx" and list(tmp_path.glob("*.onnx")) == [onnx_path(onnx)]


def onnx_path(embedder: Embedder) -> Path:
    assert embedder._onnx is not None
    return embedder._onnx.path


def test_the_exported_graph_is_reused_and_a_changed_model_exports_anew(
        tmp_path: Path) -> None:
    # given a graph exported once into the cache
    first = Embedder("all-MiniLM-L6-v2", query_backend="onnx", cache_dir=tmp_path)
    exported = onnx_path(first)
    stamp = exported.stat().st_mtime_ns
    # when another embedder of the same model starts
    again = Embedder("all-MiniLM-L6-v2", query_backend="onnx", cache_dir=tmp_path)
    # then it loads that file rather than exporting again
    assert onnx_path(again) == exported and exported.stat().st_mtime_ns == stamp
    # and a model whose files differ gets a graph of its own
    copy = tmp_path / "model-copy"
    shutil.copytree(model_path("all-MiniLM-L6-v2"), copy)
    with (copy / "config.json").open("a") as f:
        f.write("\n")
    assert graph_key(copy) != graph_key(model_path("all-MiniLM-L6-v2"))


def test_an_unknown_query_encoder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown query encoder"):
        Embedder("all-MiniLM-L6-v2", query_backend="tensorrt", cache_dir=tmp_path)
