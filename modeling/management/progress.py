"""What the modeling commands share: tqdm bars fed by a method's progress callback, and --set key=value overrides."""
from __future__ import annotations

import json

from django.core.management.base import CommandError
from tqdm import tqdm


class Bars:
    """A modeling.methods.base.Progress callback drawing one tqdm bar per stage (fit, predict, benchmark...); close() at the end."""

    def __init__(self, *, disable: bool = False):
        self.disable = disable
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, disable=self.disable, leave=stage == "benchmark", dynamic_ncols=True)
        if bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()
        if done >= total and stage != "benchmark":
            bar.close()
            del self.bars[stage]

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def overrides_parse(pairs: list[str] | None) -> dict:
    """["epochs=3", "backbone=\\"x\\"", "lr=1e-4"] -> {"epochs": 3, ...}: a value is read as JSON, else kept as text."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--set takes key=value, got {pair!r}.")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def add_common_arguments(parser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE",
                        help="Override a configuration value (repeatable); the value is read as JSON when it parses (3, 1e-4, true, [1,2]), else as text.")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present, else the CPU), cpu, cuda or cuda:N (default auto).")
    parser.add_argument("--seed", type=int, default=0, help="The seed of the training run (default 0); stored with the results.")
    parser.add_argument("--cache", default=None, help="Where frozen-backbone features are cached (default var/cache, or DREAM_CACHE_DIR).")
