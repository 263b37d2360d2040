"""Real clips for the frame tests: drawn faces rendered by the demo study, and an independent frame count."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from annotation import media
from tests.conftest import TEST_VAR

FACE_CLIPS = 3  # identities 0, 3 and 4 (skin tones apart), face swaps with mild artifacts
FACE_CLIP_SECONDS = 1.0


def frame_count(path: Path) -> int:
    """The number of frames of a video, counted by decoding it: ffprobe's count where ffprobe is
    installed, else ffmpeg's own count (imageio-ffmpeg's), neither of them the code under test."""
    if media.ffprobe_exe():
        out = subprocess.run([media.ffprobe_exe(), "-v", "error", "-count_frames", "-select_streams", "v:0",
                              "-show_entries", "stream=nb_read_frames", "-of", "json", str(path)],
                             capture_output=True, check=True, text=True).stdout
        return int(json.loads(out)["streams"][0]["nb_read_frames"])
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def encode(frames: list[np.ndarray], path: Path, fps: int = 25) -> Path:
    """Encode BGR frames to an H.264 MP4 as the demo study does, then transcode it as the ingest does."""
    height, width = frames[0].shape[:2]
    raw = path.with_suffix(".raw.mp4")
    subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
         "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12",
         "-pix_fmt", "yuv420p", str(raw)],
        input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True,
    )
    media.transcode(raw, path, path.with_suffix(".jpg"))
    raw.unlink()
    path.with_suffix(".jpg").unlink()
    return path


@pytest.fixture(scope="session")
def face_clips() -> list[Path]:
    """Demo-study face swaps (identity B's face on A's video, seam and colour artifacts), 640x360, 1 s,
    transcoded like every stimulus; cached under the test folder by their parameters."""
    from demo.swaps import ClipSpec, render_clip

    folder = TEST_VAR / "modeling-clips"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for target in (0, 3, 4)[:FACE_CLIPS]:
        source = target + 1 if target % 2 == 0 else target - 1
        path = folder / f"face_{target}_{source}_{FACE_CLIP_SECONDS:g}s.mp4"
        if not path.exists():
            spec = ClipSpec(name=path.name, target=target, source=source, strengths={"seam": 0.3, "color": 0.2},
                            take_seed=target + 11, artifact_seed=target + 13, identity_seed=7, seconds=FACE_CLIP_SECONDS)
            encode(list(render_clip(spec)), path)
        clips.append(path)
    return clips


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Every modeling test computes on one CPU thread: the CI machine has two cores, and torch's default
    (one thread per core) makes the tiny networks here slower, not faster, while the other core is busy."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def offline_weights(tmp_path_factory) -> Path:
    """A weights folder holding the Lite0 and MobileNetV2 files converted by modeling.weights (the real
    pretrained ImageNet weights of the installed packages, checked against the packages' own logits),
    made once per session in a temporary folder: about a second."""
    from modeling.weights import weights_fetch

    folder = tmp_path_factory.mktemp("weights")
    weights_fetch(["tf_efficientnet_lite0", "mobilenetv2_100"], folder)
    return folder


@pytest.fixture
def weights_dir(offline_weights, monkeypatch) -> Path:
    """offline_weights as this test's DREAM_WEIGHTS_DIR: `backbone_build(name, weights="auto")` and
    `weights_file(name)` find the fetched Lite0 and MobileNetV2 (and nothing else). modeling.weights reads
    the variable once, at import, so its WEIGHTS_DIR is set too; the variable is for subprocesses."""
    from modeling import weights

    monkeypatch.setattr(weights, "WEIGHTS_DIR", offline_weights)
    monkeypatch.setenv("DREAM_WEIGHTS_DIR", str(offline_weights))
    return offline_weights


@pytest.fixture(scope="session")
def tiny_backbone_file(tmp_path_factory) -> Path:
    """A weights file of timm's 99k-parameter "test_efficientnet" (random, seeded): where a test needs a
    backbone that starts from a known file (a "pretrained" one) without the cost of a real network."""
    import timm
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(1234)
    model = timm.create_model("test_efficientnet", pretrained=False, num_classes=0)
    path = tmp_path_factory.mktemp("tiny-backbone") / "test_efficientnet.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


TINY_CLIP_ARCH = "TinyTestCLIP"
TINY_CLIP_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    """A tiny open_clip architecture registered with open_clip, and a random-weight checkpoint of it
    (no CLIP checkpoint exists offline): (model in eval mode, checkpoint path, model config path)."""
    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("clip")
    config = folder / f"{TINY_CLIP_ARCH}.json"
    config.write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model(TINY_CLIP_ARCH).eval()
    torch.save(model.state_dict(), folder / "tiny.pt")
    return model, folder / "tiny.pt", config


@pytest.fixture(scope="session")
def daclip_tiny(tiny_backbone_file, tiny_clip) -> dict:
    """DA-CLIP config overrides for seconds-long tests: test_efficientnet from its file (160 px input),
    the tiny CLIP text tower, 3 epochs on batches of 4."""
    return {"backbone": "test_efficientnet", "weights": str(tiny_backbone_file),
            "text_encoder": f"openclip:{TINY_CLIP_ARCH}", "text_checkpoint": str(tiny_clip[1]),
            "epochs": 3, "batch_size": 4, "lr": 1e-3, "feature_batch_size": 16}


@pytest.fixture
def tiny_crops(tmp_path) -> dict[str, list[Path]]:
    """Three videos of small face-crop-like PNGs (40 px; 12, 7 and 3 crops of smooth colour fields with
    a little noise), laid out as an export's frames/<video>/<frame index>.png."""
    import cv2

    rng = np.random.default_rng(5)
    videos = {}
    yy, xx = np.mgrid[0:40, 0:40] / 40
    for v, (name, count) in enumerate((("vid_a", 12), ("vid_b", 7), ("vid_c", 3))):
        folder = tmp_path / "frames" / name
        folder.mkdir(parents=True)
        paths = []
        for i in range(count):
            base = np.stack([np.sin(3 * xx + i / 3 + v), np.cos(4 * yy - i / 5), xx * yy], -1) * 100 + 120
            image = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
            path = folder / f"{i * 6:06d}.png"
            cv2.imwrite(str(path), image)
            paths.append(path)
        videos[name] = paths
    return videos
