"""Sentence encoders: MiniLM's embeddings mean something, each distinct text is encoded once, and the disk cache holds."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from annotation.errors import ApplicationError
from modeling.archs.text import text_embeddings_cached, text_encoder_build

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


class Counting:
    """Wraps an encoder's batch function: the real computation, counting the texts it was given."""

    def __init__(self, encoder):
        self.texts: list[str] = []
        inner = encoder._encode_distinct

        def counted(batch):
            self.texts += batch
            return inner(batch)

        encoder._encode_distinct = counted


@pytest.fixture(scope="module")
def minilm():
    torch.set_num_threads(1)
    return text_encoder_build("minilm")


def test_minilm_ranks_a_paraphrase_above_an_unrelated_sentence(minilm):
    e = minilm.encode(["The skin around the mouth is blurry.", "Blur is visible near the lips.", "The train leaves at noon."])
    assert e.shape == (3, 384) and e.dtype == torch.float32 and minilm.dim == 384 and not e.requires_grad
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-5)
    similarity = e @ e.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3


def test_identical_texts_are_encoded_once(minilm):
    counter = Counting(minilm)
    texts = ["looks real", "flickering eyes", "looks real", "looks real"]
    e = minilm.encode(texts)
    assert counter.texts == ["looks real", "flickering eyes"]
    assert torch.equal(e[0], e[2]) and torch.equal(e[0], e[3])
    alone = minilm.encode(["flickering eyes"])
    assert torch.allclose(alone[0], e[1], atol=1e-5)  # batch company does not change a text's vector


def test_the_cache_encodes_each_text_once_across_calls(minilm, tmp_path):
    counter = Counting(minilm)
    first = text_embeddings_cached(minilm, ["a", "b c", "a"], tmp_path)
    assert counter.texts == ["a", "b c"] and first.shape == (3, 384) and first.dtype == np.float32
    second = text_embeddings_cached(minilm, ["b c", "d", "a"], tmp_path)
    assert counter.texts == ["a", "b c", "d"]  # only the new one
    assert np.array_equal(second[0], first[1]) and np.array_equal(second[2], first[0])
    np.testing.assert_allclose(second[1], minilm.encode(["d"])[0].numpy(), atol=1e-5)
    folder = next(tmp_path.iterdir())
    assert json.loads((folder / "encoder.json").read_text())["key"] == minilm.key
    assert text_embeddings_cached(minilm, [], tmp_path).shape == (0, 384)


def test_openclip_text_tower_loads_the_checkpoint(tiny_clip):
    import open_clip

    model, path, _ = tiny_clip
    encoder = text_encoder_build("openclip:TinyTestCLIP", checkpoint=path)
    texts = ["High realism face images.", "Low realism face images."]
    with torch.inference_mode():
        expected = model.encode_text(open_clip.get_tokenizer("TinyTestCLIP")(texts), normalize=True)
    assert encoder.dim == 16 and torch.allclose(encoder.encode(texts), expected, atol=1e-5)
    assert encoder.key.startswith("openclip:TinyTestCLIP:")


def test_openclip_without_a_checkpoint_is_refused(tiny_clip, tmp_path):
    with pytest.raises(ApplicationError) as exc:
        text_encoder_build("openclip:TinyTestCLIP")
    assert exc.value.code == "checkpoint_required" and "minilm" in exc.value.message
    with pytest.raises(ApplicationError) as exc:
        text_encoder_build("openclip:NoSuchArch", checkpoint=tiny_clip[1])
    assert exc.value.code == "unknown_text_encoder"
    with pytest.raises(ApplicationError) as exc:
        text_encoder_build("word2vec")
    assert exc.value.code == "unknown_text_encoder"
