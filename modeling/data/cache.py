"""Frame features of a frozen backbone, computed once and kept on disk, so that ten splits and every rerun reuse them.

    cache_root/<model key>/key.json                                  what the key hashes, readable
    cache_root/<model key>/<video>-<frame-set digest>.npy            frames x D float32, one row per
                                                                      selected frame (clips flattened)

The model key is the SHA-256 of the backbone's timm name, its weights' SHA-256 (for random
initialisation, the SHA-256 of the module's own tensors, since two random builds differ), the input
size, mean and std, and the sampling policy, which is "all" (every crop; a method's own policy picks
rows of it) except for mirrored crops (`flip`, cached for the policy that asks). The frame-set digest is the SHA-256 of the video id and
its crops' file names and byte sizes (sorted): re-extracted crops, another detector or step, give
another file, while copying the export to another machine (new paths, new times) keeps it. Which
videos a split asks for is not part of any key, so every split reads the same files. Files are
written to a temporary name and renamed, so an interrupted run leaves no partial entry.

The key, entry and writing rules (fields_key, key_folder, entry_path, array_save) serve the
hand-crafted feature cache too (modeling.features.cache), in its own folder.

Measured (bench/representations.py: 100 PNG crops at 224 px read from disk, features_cached end to
end, best of 3, this shared 2-core CPU at a load average of 4-5, so wall times carry the
neighbours' share): seconds per 100 crops with torch threads 2 / 1 thread (CPU seconds of the
1-thread run): tf_efficientnet_lite0 6.3 / 4.1 (2.8), tf_efficientnet_lite2 16.1 / 5.5 (4.2),
mobilenetv2_100 9.0 / 3.9 (2.5). On this loaded machine one thread is faster than two (two
OpenMP threads wait on each other when the second core is busy). With policy "all", the
dream-size demo study (1,525 videos of 5 s at 25 fps, one crop of every 6 frames: 21 each) takes
about 22 minutes once with Lite0 on one thread; every split after that reads the files.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from modeling.archs.backbones import BackboneSpec, images_to_tensor
from modeling.files import atomic_write, json_write
from modeling.data.sources import FrameSource, Progress

from .sampling import SamplingPolicy, crops_load, frames_select, policy_parse

CACHED_POLICY = "all"  # what a cache entry holds: every crop of the video, in order
KEY_VERSION = 1  # raise when the computation changes (resizing, pooling): old entries are then not read
# On a CPU the backbone gets channels-last input in chunks of 16: Lite0 at 224 px, one thread,
# took 2.4-3.0 s per 100 crops against 4.8-5.2 s for plain NCHW chunks of 16 and 7.4 s for
# NCHW batches of 32 (the working set of a small batch stays in cache; oneDNN's depthwise
# convolutions prefer channels-last). The GPU gets the whole batch.
CPU_CHUNK = 16


def module_sha256(module: torch.nn.Module) -> str:
    """The SHA-256 of a module's state dict (names, shapes and values): the identity of random weights."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tuple(tensor.shape)}:{t.dtype}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def fields_key(fields: Mapping) -> str:
    """The SHA-256 naming a cache folder: of its fields as JSON with sorted keys."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def model_key(spec: BackboneSpec, policy: str | SamplingPolicy, weights_sha256: str | None = None, *,
              flip: bool = False) -> tuple[str, dict]:
    """(the SHA-256 naming a backbone + policy's folder, the fields it hashes); `flip`: of the mirrored crops."""
    fields = {
        "version": KEY_VERSION,
        "backbone": spec.name,
        "weights_sha256": weights_sha256 or spec.weights_sha256,
        "input_size": spec.input_size,
        "mean": list(spec.mean),
        "std": list(spec.std),
        "policy": policy_parse(policy).text,
        **({"flip": True} if flip else {}),  # absent when False: the keys of plain crops stay what they were
    }
    if fields["weights_sha256"] is None:
        raise ValueError("a random-initialised backbone needs the SHA-256 of its tensors (module_sha256)")
    return fields_key(fields), fields


def key_folder(root: str | os.PathLike[str], key: str, record: Mapping) -> Path:
    """root/<key>, made if missing, with key.json saying what the key hashes (`record`, written once)."""
    folder = Path(root) / key
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "key.json").is_file():
        json_write(folder / "key.json", dict(record))
    return folder


def frameset_digest(video: str, paths: Sequence[Path]) -> str:
    """The SHA-256 of a video id and its crops' file names and byte sizes (sorted by name)."""
    listing = sorted((Path(p).name, Path(p).stat().st_size) for p in paths)
    return hashlib.sha256(json.dumps([video, listing]).encode()).hexdigest()


def entry_path(folder: str | os.PathLike[str], video: str, paths: Sequence[Path]) -> Path:
    """Where a video's cached array lives in a key's folder: named by the video and the digest of its crops."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", video)[:80]
    return Path(folder) / f"{safe}-{frameset_digest(video, paths)[:20]}.npy"


def array_save(path: Path, array: np.ndarray) -> None:
    """np.save, atomically (modeling.files): a reader (another split's job) sees all of the entry or none."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to a path
            np.save(f, array, allow_pickle=False)

    atomic_write(path, write)


def features_cached(backbone: torch.nn.Module, spec: BackboneSpec, frames: FrameSource, ids: Sequence[str], *,
                    policy: str | SamplingPolicy, cache_root: str | os.PathLike[str], device: str | torch.device = "cpu",
                    progress: Progress | None = None, batch_size: int = 64, flip: bool = False) -> dict[str, np.ndarray]:
    """Per video id, the backbone's features of its policy's frames (frames x D float32, clips flattened in order).

    `flip`: of the horizontally mirrored crops (OPDAI's test-time augmentation), cached under a key of their own.

    The cache holds every crop of a video once (policy "all"), whatever policy asks: the policies
    of the methods (DA-CLIP's all, OPDAI's three positions, HUST's 20 evenly spaced, UNILJ's clips)
    then pick rows of one file, so a benchmark of every method computes each crop once (13,680 crops
    of Lite2 on the benchmark export: about 15 minutes on two CPU cores, once). Entries already on disk are read; the others are computed with the backbone frozen (eval mode,
    no grad; its train/eval mode is restored after) in batches of `batch_size` frames across videos,
    each distinct crop once, the next batch read from disk while the current one runs. The backbone
    is moved to `device`. progress("features", videos done, videos) reports along the way.
    """
    policy = policy_parse(policy)
    ids = list(dict.fromkeys(ids))
    weights_sha256 = spec.weights_sha256 or module_sha256(backbone)
    # Mirrored crops are asked for by one policy (OPDAI's three positions): cached as asked, not every crop.
    key, fields = model_key(spec, policy if flip else CACHED_POLICY, weights_sha256, flip=flip)
    if policy.text != CACHED_POLICY and not flip:
        every = features_cached(backbone, spec, frames, ids, policy=CACHED_POLICY, cache_root=cache_root, device=device,
                                progress=progress, batch_size=batch_size, flip=flip)
        out = {}
        for video in ids:
            paths = list(frames(video))
            row = {p: i for i, p in enumerate(paths)}
            out[video] = every[video][[row[p] for clip in frames_select(paths, policy) for p in clip]]
        return out
    folder = key_folder(cache_root, key, {**fields, "weights": spec.weights})

    out: dict[str, np.ndarray] = {}
    pending: list[tuple[str, Path, list[Path]]] = []  # (video, entry, selected crops in order)
    for video in ids:
        paths = list(frames(video))
        entry = entry_path(folder, video, paths)
        if entry.is_file():
            out[video] = np.load(entry)
        else:
            pending.append((video, entry, [p for clip in frames_select(paths, policy) for p in clip]))
    total = len(ids)
    if progress:
        progress("features", total - len(pending), total)
    if not pending:
        return out

    # Each distinct crop once, in a queue across videos; a video is written when its last crop is done.
    queue: list[Path] = list(dict.fromkeys(p for _, _, selected in pending for p in selected))
    last_use = {}
    for n, (_, _, selected) in enumerate(pending):
        for p in selected:
            last_use[p] = n
    computed: dict[Path, np.ndarray] = {}
    written = 0
    was_training = backbone.training
    backbone.eval().to(device)
    try:
        batches = [queue[i:i + batch_size] for i in range(0, len(queue), batch_size)]
        with ThreadPoolExecutor(max_workers=1) as reader, torch.inference_mode():
            upcoming = reader.submit(crops_load, batches[0])
            for b, batch in enumerate(batches):
                images = upcoming.result()
                if flip:
                    images = np.ascontiguousarray(images[:, :, ::-1])
                if b + 1 < len(batches):
                    upcoming = reader.submit(crops_load, batches[b + 1])
                x = images_to_tensor(images, spec, device=device).contiguous(memory_format=torch.channels_last)
                step = CPU_CHUNK if torch.device(device).type == "cpu" else len(x)
                features = torch.cat([backbone(x[i:i + step]) for i in range(0, len(x), step)]).float().cpu().numpy()
                computed.update(zip(batch, features))
                # write every pending video whose crops are all computed now
                while written < len(pending) and all(p in computed for p in pending[written][2]):
                    video, entry, selected = pending[written]
                    array = np.stack([computed[p] for p in selected]).astype(np.float32)
                    array_save(entry, array)
                    out[video] = array
                    written += 1
                    for p in selected:
                        if last_use.get(p) == written - 1:
                            computed.pop(p, None)
                    if progress:
                        progress("features", total - len(pending) + written, total)
    finally:
        backbone.train(was_training)
    return {video: out[video] for video in ids}
