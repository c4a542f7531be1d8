import numpy as np

from knowledge.embedding import Embedder, model_path


def test_model_loads_offline_from_the_installed_package(embedder: Embedder) -> None:
    assert (model_path("all-MiniLM-L6-v2") / "model.safetensors").exists()
    assert embedder.dimension == 384


def test_vectors_are_normalised_and_meaningful(embedder: Embedder) -> None:
    vectors = embedder.encode(["a blue coffee mug", "a navy ceramic cup", "a leather belt"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
