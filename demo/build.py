"""Put a planned demo study into the database: its campaign, its videos and their ground truth.

Videos are rendered in worker processes and imported through the platform's own ingest
(`ingest.prepare_file` + `ingest.video_register`): hashed, probed, transcoded and stored under
their content hash like any researcher's upload. Each one's truth row is written with it. A
video already registered is skipped, so an interrupted build resumes and a finished one costs
nothing to run again.

`study_rows_register` is the fast path for benchmarks and tests of the crowd: the same plan and
truth, with video rows that point at no file (nothing to watch, everything to rate).
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from annotation.ingest import Prepared, VideoSpec, prepare_file, video_register
from annotation.models import Campaign, ConsentText, Video

from .faces import identity_make
from .models import SyntheticTruth
from .study import VERSION, PlannedClip, StudyPlan
from .swaps import clip_write
from .wording import demo_reason

CONSENT = (
    "You are invited to take part in a study of how real face-swap (deepfake) videos look to people.\n\n"
    "You will watch short videos, rate each one and write a short reason. We store your ratings, "
    "your reasons, the time you spend and the answers about you (age group, gender, education, "
    "prior knowledge of deepfakes). We store no name. The anonymised data may be published for "
    "academic research. You may stop at any time."
)


def study_campaign_get_or_create(*, slug: str, title: str, plan: StudyPlan) -> tuple[Campaign, bool]:
    """The study's campaign with the plan's session shape and target, and a consent text."""
    config = plan.config
    campaign, created = Campaign.objects.get_or_create(
        slug=slug,
        defaults={
            "title": title,
            "videos_per_session": config.videos_per_session,
            "checkers_per_session": config.checkers_per_session,
            "target_ratings_per_video": config.target_ratings_per_video,
            "completion_code": "DEMO-DONE",
            # The paper's protocol has no attempt cap: the simulated crowd's own give-up model decides
            # who leaves, and its redo share is compared with the paper's.
            "max_attempts": None,
        },
    )
    if not campaign.consent_texts.exists():
        ConsentText.objects.create(campaign=campaign, version=1, text=CONSENT)
    return campaign, created


def _video_spec(row: int, clip: PlannedClip) -> VideoSpec:
    return VideoSpec(
        row=row,
        file=clip.name,
        identity_pair=clip.pair,
        method=clip.method,
        is_real=clip.is_real,
        gold_score=clip.gold_score,
        demo_grade=clip.demo_grade,
        demo_reason=demo_reason(grade=clip.demo_grade, strengths=clip.strengths) if clip.demo_grade else "",
    )


def _truth_defaults(plan: StudyPlan, clip: PlannedClip) -> dict:
    return {
        "realism": clip.realism,
        "artifacts": dict(clip.strengths),
        "target_identity": clip.target_key,
        "source_identity": clip.source_key,
        "person": identity_make(clip.spec.target, seed=plan.config.seed).traits(),
        "generator": VERSION,
    }


@transaction.atomic
def _register(campaign: Campaign, plan: StudyPlan, clip: PlannedClip, prepared: Prepared) -> None:
    video_register(campaign=campaign, prepared=prepared)
    video = Video.objects.get(campaign=campaign, content_hash=prepared.content_hash)
    SyntheticTruth.objects.update_or_create(video=video, defaults=_truth_defaults(plan, clip))


@dataclass
class BuildReport:
    rendered: int = 0
    skipped: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def videos_per_second(self) -> float:
        return self.rendered / self.seconds if self.seconds else 0.0


def _missing(campaign: Campaign, plan: StudyPlan) -> list[tuple[int, PlannedClip]]:
    done = set(Video.objects.filter(campaign=campaign, synthetic_truth__isnull=False).values_list("source_name", flat=True))
    return [(row, clip) for row, clip in enumerate(plan.clips, start=2) if clip.name not in done]


def study_videos_build(
    *,
    campaign: Campaign,
    plan: StudyPlan,
    workers: int | None = None,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> BuildReport:
    """Render every planned clip not yet in the campaign and import it through the ingest.

    Rendering (numpy/OpenCV and an ffmpeg encoder per clip) runs in `workers` processes; the
    ingest's transcode runs in threads beside them; rows are written in this thread only.
    """
    started = time.perf_counter()
    todo = _missing(campaign, plan)
    report = BuildReport(skipped=len(plan.clips) - len(todo))
    if not todo:
        return report
    workers = workers or os.cpu_count() or 1
    # Workers are spawned, not forked: they start clean, without this process's database connection.
    with tempfile.TemporaryDirectory(prefix="demo-study-") as tmp, \
            ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as renderers, \
            ThreadPoolExecutor(max_workers=workers + 1) as transcoders:

        def make(row: int, clip: PlannedClip) -> Prepared:
            source = Path(tmp) / clip.name
            renderers.submit(clip_write, clip.spec, str(source)).result()
            try:
                return prepare_file(_video_spec(row, clip), Path(tmp))
            finally:
                source.unlink(missing_ok=True)

        futures = {transcoders.submit(make, row, clip): clip for row, clip in todo}
        for future in progress(as_completed(futures)):
            clip = futures[future]
            try:
                _register(campaign, plan, clip, future.result())
            except Exception as exc:  # noqa: BLE001 - one failed clip must not stop the others; each is named
                report.errors.append(f"{clip.name}: {exc}")
                continue
            report.rendered += 1
    report.seconds = time.perf_counter() - started
    return report


@transaction.atomic
def study_rows_register(*, campaign: Campaign, plan: StudyPlan) -> int:
    """Register the plan's videos as rows without files (for crowd benchmarks and tests); returns how many were added.

    Each row gets a content hash made from the clip's name and the generator version, the file
    names the ingest would give it, and the plan's duration and size; the truth is the same as
    for rendered videos.
    """
    config = plan.config
    done = set(campaign.videos.values_list("source_name", flat=True))
    added = []
    for row, clip in enumerate(plan.clips, start=2):
        if clip.name in done:
            continue
        spec = _video_spec(row, clip)
        digest = hashlib.sha256(f"{VERSION}/{config.seed}/{clip.name}".encode()).hexdigest()
        added.append((clip, Video(
            campaign=campaign, role=spec.role, content_hash=digest, source_name=clip.name,
            file=f"videos/{digest}.mp4", poster=f"posters/{digest}.jpg", identity_pair=spec.identity_pair,
            method=spec.method, is_real=spec.is_real, gold_score=spec.gold_score, demo_grade=spec.demo_grade,
            demo_reason=spec.demo_reason, duration_s=config.seconds, fps=config.fps, width=config.width,
            height=config.height, source_codec="none",
        )))
    videos = Video.objects.bulk_create([video for _, video in added])
    SyntheticTruth.objects.bulk_create(
        SyntheticTruth(video=video, **_truth_defaults(plan, clip)) for (clip, _), video in zip(added, videos)
    )
    return len(videos)
