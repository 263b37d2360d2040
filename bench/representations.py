"""Benchmark of the representations layer: frozen backbone features per 100 crops, MiniLM sentences per second.

1. Frozen features at 224 px (torch threads 2 by default, batches of 64): for tf_efficientnet_lite0,
   tf_efficientnet_lite2 and mobilenetv2_100 with the fetched offline weights (fetched first when
   missing), the seconds per 100 crops of the forward pass alone, and of `features_cached` end to
   end (PNG crops read from disk, nothing cached before), best of --repeats. Wall and process CPU
   seconds both: on a shared machine the wall time says as much about the neighbours as about us.
2. MiniLM (all-MiniLM-L6-v2): sentences per second on reason-like sentences of 6-14 words, all distinct.

Run:  .venv/bin/python bench/representations.py [--threads 2] [--crops 100] [--sentences 512] [--repeats 2]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ("tf_efficientnet_lite0", "tf_efficientnet_lite2", "mobilenetv2_100")
WORDS = ("the face mouth eyes skin blurry flickering seam colour looks real fake unnatural edges teeth lighting "
         "shadow jaw hair blends badly around moves too smooth mask boundary visible").split()


def timed(fn, repeats: int) -> tuple[float, float]:
    """(best wall seconds, process CPU seconds of that run)."""
    best = None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        run = (time.perf_counter() - wall, time.process_time() - cpu)
        best = run if best is None or run[0] < best[0] else best
    return best


def crops_write(folder: Path, count: int) -> list[Path]:
    """`count` 224-px PNG crops cut from scikit-learn's two photographs at random places."""
    import cv2
    import numpy as np
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(0)
    photos = [load_sample_image(n) for n in ("china.jpg", "flower.jpg")]
    paths = []
    for i in range(count):
        photo = photos[i % 2]
        side = int(rng.integers(160, 400))
        y, x = int(rng.integers(0, photo.shape[0] - side)), int(rng.integers(0, photo.shape[1] - side))
        crop = cv2.resize(photo[y:y + side, x:x + side], (224, 224), interpolation=cv2.INTER_AREA)
        path = folder / f"{i * 6:06d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crops", type=int, default=100)
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    from modeling.archs.backbones import backbone_build, images_to_tensor
    from modeling.archs.text import text_encoder_build
    from modeling.data.cache import features_cached
    from modeling.data.sampling import crops_load
    from modeling.weights import weights_fetch

    torch.set_num_threads(args.threads)
    weights_fetch(MODELS)
    results = {"threads": args.threads, "crops": args.crops, "cpu_count": os.cpu_count(), "loadavg_before": os.getloadavg()[0],
               "features": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "frames" / "video"
        folder.mkdir(parents=True)
        paths = crops_write(folder, args.crops)
        images = crops_load(paths)
        for name in MODELS:
            model, spec = backbone_build(name, input_size=224)
            model.eval()
            x = images_to_tensor(images, spec)

            def forward():
                with torch.inference_mode():
                    for i in range(0, len(x), 64):
                        model(x[i:i + 64])

            forward()  # warm-up (allocations, kernel choice)
            wall, cpu = timed(forward, args.repeats)
            runs = iter(range(1000))

            def cached():
                features_cached(model, spec, lambda video: paths, ["video"], policy="all", cache_root=Path(tmp) / f"cache{next(runs)}")

            e2e_wall, e2e_cpu = timed(cached, args.repeats)
            per100 = 100 / args.crops
            results["features"][name] = {
                "forward_s_per_100": round(wall * per100, 2), "forward_cpu_s_per_100": round(cpu * per100, 2),
                "cached_s_per_100": round(e2e_wall * per100, 2), "cached_cpu_s_per_100": round(e2e_cpu * per100, 2),
                "dim": spec.dim,
            }
            print(f"{name:24s} forward {wall * per100:6.2f} s / 100 crops (CPU {cpu * per100:5.2f} s); "
                  f"features_cached end to end {e2e_wall * per100:6.2f} s (CPU {e2e_cpu * per100:5.2f} s)", flush=True)

    encoder = text_encoder_build("minilm")
    rng = random.Random(0)
    texts = list(dict.fromkeys(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(args.sentences)))
    encoder.encode(texts[:64])
    wall, cpu = timed(lambda: encoder.encode(texts), args.repeats)
    results["minilm"] = {"sentences": len(texts), "per_s": round(len(texts) / wall, 1), "per_cpu_s": round(len(texts) / cpu, 1)}
    print(f"MiniLM: {len(texts) / wall:.0f} sentences/s ({len(texts) / cpu:.0f} per CPU second), {len(texts)} distinct sentences")
    results["loadavg_after"] = os.getloadavg()[0]
    print(f"load average {results['loadavg_before']:.2f} before, {results['loadavg_after']:.2f} after, on {os.cpu_count()} cores")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"representations-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
