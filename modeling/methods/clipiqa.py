"""CLIP-IQA zero-shot, the paper's VLM baseline: how much more a face looks like "High" than "Low realism face images."

Each sampled crop's CLIP image embedding is compared (cosine) with the embeddings of the two
antonym prompts; the softmax of the two cosines, scaled by CLIP's temperature of 100 (CLIP-IQA's
own logits_per_image = 100 * image @ text.T), gives the probability of the positive prompt, and a
video's score is its mean over the crops. Nothing is trained: `fit` only loads the model.

No CLIP weights ship offline (DOMAIN.md section 5), so the method needs a local open_clip
checkpoint in its config: "checkpoint" (a state-dict file, with "arch" naming the open_clip
architecture, e.g. "ViT-B-32"; or a folder with open_clip_config.json and the weights) and, for an
architecture open_clip does not know, "model_config" (its JSON). Without one `unavailable()` says
why, and fit and predict raise MethodUnavailable: the method reports itself instead of numbers.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from annotation.errors import ApplicationError
from modeling.archs.backbones import BackboneSpec, images_to_tensor
from modeling.data.sampling import crops_load, frames_select
from modeling.weights import file_sha256

from .base import FrameSource, Method, MethodUnavailable, TrainContext, register

CLIP_LOGIT_SCALE = 100.0
CONFIG_FILE = "method.json"
SETTINGS = ("method", "config", "description", "arch", "checkpoint", "model_config", "prompts", "policy", "batch_size")


@register
class ClipIqa(Method):
    name = "clipiqa"
    description = "CLIP-IQA zero-shot: softmax of the cosines to 'High realism face images.' and 'Low realism face images.'"

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        unknown = sorted(set(self.config) - set(SETTINGS))
        if unknown:
            raise ApplicationError("bad_config", f"Unknown setting(s) {', '.join(unknown)} for clipiqa; known: {', '.join(SETTINGS[3:])}.")
        self.prompts: list[str] = list(self.config.get("prompts") or ["High realism face images.", "Low realism face images."])
        if len(self.prompts) != 2:
            raise ApplicationError("bad_config", "clipiqa takes two prompts: the positive one first, then its antonym.")
        self.policy: str = self.config.get("policy", "even:8")
        self.batch_size = int(self.config.get("batch_size", 64))
        model_config = self.config.get("model_config")
        self.arch: str = self.config.get("arch") or (Path(model_config).stem if model_config else "ViT-B-32")
        self.checkpoint = Path(self.config["checkpoint"]) if self.config.get("checkpoint") else None
        self.model = None
        self.spec: BackboneSpec | None = None
        self.text_features: torch.Tensor | None = None

    def unavailable(self) -> str | None:
        if self.checkpoint is None:
            return ("CLIP-IQA needs a CLIP checkpoint, and none ships offline here: set \"checkpoint\" (an open_clip "
                    "state-dict file, with \"arch\" such as ViT-B-32) in modeling/configs/clipiqa.json or as an override.")
        if not self.checkpoint.exists():
            return f"The CLIP checkpoint {self.checkpoint} does not exist."
        model_config = self.config.get("model_config")
        if model_config and not Path(model_config).is_file():
            return f"The open_clip model config {model_config} does not exist."
        if model_config and Path(model_config).stem != self.arch:
            return f"\"arch\" ({self.arch}) must be the model config's file name without .json ({Path(model_config).stem}): open_clip names it so."
        return None

    def _require(self) -> None:
        reason = self.unavailable()
        if reason:
            raise MethodUnavailable(reason)

    def weights_used(self) -> list[dict]:
        if self.checkpoint is None or not self.checkpoint.is_file():
            return []
        return [{"name": f"open_clip:{self.arch}", "file": str(self.checkpoint), "sha256": file_sha256(self.checkpoint)}]

    def _load(self, device: str) -> None:
        """Build the CLIP model from the local checkpoint and embed the two prompts (once)."""
        if self.model is not None:
            self.model.to(device)
            self.text_features = self.text_features.to(device)
            return
        import open_clip  # imported here: open_clip's import takes seconds, and only this method needs it

        if self.config.get("model_config"):
            open_clip.add_model_config(Path(self.config["model_config"]))
        if self.checkpoint.is_dir():
            name, pretrained = f"local-dir:{self.checkpoint}", None
        else:
            name, pretrained = self.arch, str(self.checkpoint)
        # require_pretrained: a checkpoint that does not load must fail here, not score with random weights.
        model = open_clip.create_model(name, pretrained=pretrained, require_pretrained=True, pretrained_text=False, device=device)
        model.eval()
        tokenizer = open_clip.get_tokenizer(name)
        with torch.no_grad():
            text = model.encode_text(tokenizer(self.prompts).to(device)).float()
        self.text_features = text / text.norm(dim=-1, keepdim=True)
        pre = open_clip.get_model_preprocess_cfg(model)
        size = pre.get("size", 224)
        size = size if isinstance(size, int) else int(size[0])
        weights = self.weights_used()
        self.spec = BackboneSpec(name=f"open_clip:{self.arch}", weights=str(self.checkpoint),
                                 weights_sha256=weights[0]["sha256"] if weights else None, input_size=size,
                                 mean=tuple(pre["mean"]), std=tuple(pre["std"]), dim=int(text.shape[1]))
        self.model = model

    def frame_scores(self, images: np.ndarray, device: str = "cpu") -> np.ndarray:
        """P(positive prompt) of each RGB crop (N x H x W x 3 uint8): softmax over 100 x the two cosines."""
        self._require()
        self._load(device)
        x = images_to_tensor(images, self.spec)
        scores = []
        with torch.no_grad():
            for k in range(0, len(x), self.batch_size):
                image = self.model.encode_image(x[k:k + self.batch_size].to(device)).float()
                image = image / image.norm(dim=-1, keepdim=True)
                scores.append(torch.softmax(CLIP_LOGIT_SCALE * image @ self.text_features.T, dim=-1)[:, 0].cpu())
        return torch.cat(scores).numpy().astype(np.float64)

    def fit(self, ctx: TrainContext, train_ids: Sequence[str]) -> dict:
        self._require()
        self._load(ctx.device)
        return {"zero_shot": True, "epochs": 0, "prompts": self.prompts, "weights": self.weights_used()}

    def predict(self, frames: FrameSource, ids: Sequence[str], *, device: str = "cpu", cache_root: Path | None = None) -> np.ndarray:
        self._require()
        out = []
        for video in ids:
            crops = [p for clip in frames_select(frames(video), self.policy) for p in clip]
            out.append(float(np.mean(self.frame_scores(crops_load(crops), device))))
        return np.asarray(out)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        record = {"method": self.name, "config": self.config, "weights": self.weights_used()}
        (folder / CONFIG_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> ClipIqa:
        """The method with its saved config; refuses when the checkpoint there is not the one it was saved with."""
        record = json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
        method = cls(record["config"])
        saved, here = record["weights"], method.weights_used()
        if saved and here and saved[0]["sha256"] != here[0]["sha256"]:
            raise ApplicationError("weights_mismatch", f"{method.checkpoint} is not the CLIP checkpoint this model was saved with "
                                   f"(sha256 {saved[0]['sha256'][:12]}).")
        return method
