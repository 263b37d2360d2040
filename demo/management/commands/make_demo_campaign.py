"""`manage.py make_demo_campaign`: a small campaign of generated test-pattern videos to try the platform."""
import csv
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import media
from annotation.ingest import import_videos
from annotation.models import Campaign, ConsentText

DEMO_CONSENT = (
    "You are invited to take part in a study of how real face-swap (deepfake) videos look to people.\n\n"
    "You will watch short videos, rate each one and write a short reason. We store your ratings, "
    "your reasons, the time you spend and the answers about you (age group, gender, education, "
    "prior knowledge of deepfakes). We store no name. The anonymised data may be published for "
    "academic research. You may stop at any time."
)
DEMO_REASONS = {
    1: "The whole face flickers severely and the seam around the face is obvious.",
    2: "The mouth looks blurry and the face colour clearly differs from the neck.",
    3: "The face contour shakes a little, but it hardly disturbs watching.",
    4: "The eyes look slightly unnatural, but I am not sure it is a forgery.",
    5: "No trace of forgery can be seen.",
}


class Command(BaseCommand):
    help = (
        "Create the 'demo' campaign with generated test-pattern videos (regular videos, hidden "
        "checkers and one lecture demo per grade). Does nothing if the campaign already has videos."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo", help="Campaign slug (default: demo).")
        parser.add_argument("--regular", type=int, default=45, help="Number of regular videos (default 45).")
        parser.add_argument("--checkers", type=int, default=8, help="Number of checker videos (default 8).")
        parser.add_argument("--seconds", type=float, default=2.0, help="Length of each clip (default 2 s).")
        parser.add_argument("--target", type=int, default=10, help="Target ratings per video (default 10).")

    def handle(self, *args, slug, regular, checkers, seconds, target, **options):
        campaign, created = Campaign.objects.get_or_create(
            slug=slug,
            defaults={"title": "Deepfake realism demo", "target_ratings_per_video": target, "completion_code": "DEMO-DONE"},
        )
        if not campaign.consent_texts.exists():
            ConsentText.objects.create(campaign=campaign, version=1, text=DEMO_CONSENT)
        if campaign.videos.exists():
            self.stdout.write(f"Campaign {slug!r} already has {campaign.videos.count()} videos; nothing to do.")
            return
        if regular + checkers < campaign.videos_per_session:
            raise CommandError(f"A session needs {campaign.videos_per_session} videos; ask for more regular or checker videos.")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            rows = []
            for i in range(regular):
                rows.append({"file": f"clip_{i:03d}.mp4", "identity_pair": f"pair{i % 5:02d}", "method": f"method{i % 9:02d}",
                             "is_real": "false", "gold_score": "", "demo_grade": "", "demo_reason": ""})
            for i in range(checkers):
                gold = 5 if i % 2 == 0 else 1
                rows.append({"file": f"check_{i:03d}.mp4", "identity_pair": f"pair{i % 5:02d}", "method": "real" if gold == 5 else "poor",
                             "is_real": "true" if gold == 5 else "false", "gold_score": str(gold), "demo_grade": "", "demo_reason": ""})
            for grade, reason in DEMO_REASONS.items():
                rows.append({"file": f"demo_{grade}.mp4", "identity_pair": "demo", "method": f"demo{grade}",
                             "is_real": "true" if grade == 5 else "false", "gold_score": "", "demo_grade": str(grade), "demo_reason": reason})
            for seed, row in enumerate(tqdm(rows, desc="generating clips", unit="clip", disable=options["verbosity"] == 0)):
                media.make_test_pattern(folder / row["file"], seed=seed + 1, seconds=seconds)  # no label: it would number the checkers
            metadata = folder / "metadata.csv"
            with open(metadata, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            report = import_videos(
                campaign=campaign, source_dir=folder, metadata=metadata,
                progress=lambda it: tqdm(it, total=len(rows), desc="importing", unit="video", disable=options["verbosity"] == 0),
            )
        if not report.ok:
            raise CommandError("Demo import failed: " + "; ".join(report.errors))
        self.stdout.write(f"Campaign {slug!r}: {len(report.created)} videos imported. Annotators start at /c/{slug}/")
