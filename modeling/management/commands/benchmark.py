"""`manage.py benchmark --export DIR --methods a,b --splits 0-9 --out DIR`: Table II (and V) over every configuration x split, resumable."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.errors import ApplicationError
from modeling.data.export import ExportData
from modeling.management.progress import Bars, add_common_arguments, overrides_parse
from modeling.protocol import benchmark, splits_parse


class Command(BaseCommand):
    help = (
        "Train and score every configuration of --methods on every split of --splits of a dataset export (the paper's "
        "protocol), and write into --out: rows/<config>/split-<k>.json (one per finished run: metrics, seconds, the "
        "configuration, the export's manifest SHA-256, seed, pretrained weights, device, torch), table2.csv / .md / .html "
        "(PLCC and SRCC per test set, their averages and avr, mean ± std over splits), table5.* for methods that explain, "
        "and benchmark.json. Run again with the same --out, it computes only the runs that are missing or changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--export", required=True, help="The dataset export's folder (face crops extracted).")
        parser.add_argument("--methods", required=True, help="Configurations, comma-separated (names of modeling/configs/ or .json files).")
        parser.add_argument("--splits", default="0-9", help="Splits: 0-9, 0,2,5 or 0-2,7 (default 0-9).")
        parser.add_argument("--out", required=True, help="The output folder (rows, tables, figure); reused to resume.")
        parser.add_argument("--no-explain", dest="explain", action="store_false", help="Skip the explanation error (Table V).")
        add_common_arguments(parser)

    def handle(self, *args, export, methods, splits, out, explain, overrides, device, seed, cache, **options):
        configs = [m.strip() for m in methods.split(",") if m.strip()]
        if not configs:
            raise CommandError("--methods names no configuration.")
        bars = Bars(disable=options["verbosity"] == 0)
        try:
            data = ExportData.read(export)
            result = benchmark(data, configs, splits_parse(splits), out=Path(out), overrides=overrides_parse(overrides), device=device,
                               seed=seed, progress=bars, cache_root=Path(cache) if cache else None, explain=explain)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        finally:
            bars.close()
        self.stdout.write((Path(out) / "table2.md").read_text(encoding="utf-8"))
        if (Path(out) / "table5.md").is_file():
            self.stdout.write((Path(out) / "table5.md").read_text(encoding="utf-8"))
        self.stdout.write(f"{result.computed} run(s) computed, {len(result.rows) - result.computed} reused. Reports in {out}")
        if result.failed:
            raise CommandError(f"{len(result.failed)} run(s) failed (listed in table2.md); run again to retry them.")
