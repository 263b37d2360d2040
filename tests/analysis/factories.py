"""Rated campaigns written straight to the database, for tests of the analysis side.

The annotation workflow has its own tests; here only the stored shape matters (annotators with
demographics, sessions, attempts with outcomes, ratings with reasons and times).
"""
from __future__ import annotations

import numpy as np
from django.utils import timezone

from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, Rating, SessionItem, Video

REASONS = ("the mouth is slightly blurry", "obvious seam around the face", "the whole face flickers", "eyes look unnatural")


def rated_campaign(*, slug="rated", n_videos=24, n_annotators=30, disqualified_every=4, seed=0) -> Campaign:
    """Every annotator rates every video once (attempt 1); every `disqualified_every`-th annotator
    had attempt 1 disqualified and rated again in attempt 2 (qualified)."""
    rng = np.random.default_rng(seed)
    campaign = Campaign.objects.create(slug=slug, title=f"Rated {slug}", target_ratings_per_video=n_annotators)
    videos = Video.objects.bulk_create(
        Video(campaign=campaign, content_hash=f"{slug}-{i:05d}-".ljust(64, "x"), source_name=f"v{i}.mp4", file=f"videos/{slug}{i}.mp4",
              poster=f"posters/{slug}{i}.jpg", identity_pair=f"pair{i % 4}", method=f"m{i % 6}", is_real=i % 6 == 0)
        for i in range(n_videos)
    )
    Video.objects.create(campaign=campaign, role=Video.Role.CHECKER, gold_score=1, content_hash=f"{slug}checker".ljust(64, "c"),
                         source_name="checker.mp4", file="videos/c.mp4", poster="posters/c.jpg")
    truth = rng.uniform(1.3, 4.7, n_videos)
    now = timezone.now()
    ratings = []
    for a in range(n_annotators):
        annotator = Annotator.objects.create(
            campaign=campaign, source=Annotator.Source.PROLIFIC, external_id=f"{slug}-A{a}", consented_at=now, demographics_at=now,
            age_group=("<20", "20-29", "30-39")[a % 3], gender=("female", "male")[a % 2],
            education=("bachelor", "master")[(a // 2) % 2], prior_knowledge=("none", "heard", "expert")[a % 3],
        )
        session = AnnotationSession.objects.create(campaign=campaign, annotator=annotator, status=AnnotationSession.Status.QUALIFIED,
                                                   last_activity_at=now, finished_at=now)
        SessionItem.objects.bulk_create(SessionItem(session=session, video=v) for v in videos)
        redo = disqualified_every and a % disqualified_every == 0
        bias, noise = rng.normal(0, 0.3), rng.uniform(0.3, 0.8)
        for number in ((1, 2) if redo else (1,)):
            outcome = Attempt.Outcome.DISQUALIFIED if (redo and number == 1) else Attempt.Outcome.QUALIFIED
            attempt = Attempt.objects.create(session=session, number=number, video_order=[v.pk for v in videos],
                                             outcome=outcome, lecture_completed_at=now, finished_at=now)
            # A disqualified pass is noisier: that is what rectification removes.
            spread = noise * (2.5 if outcome == Attempt.Outcome.DISQUALIFIED else 1.0)
            scores = np.clip(np.rint(truth + bias + rng.normal(0, spread, n_videos)), 1, 5).astype(int)
            for position, (video, score) in enumerate(zip(videos, scores), start=1):
                text = REASONS[(a + position) % len(REASONS)]
                ratings.append(Rating(
                    attempt=attempt, video=video, position=position, score=int(score),
                    reason="The realism is very high, and there are no detectable signs of forgery" if score == 5 else text,
                    typed_reason=text, served_at=now, seconds_spent=float(rng.uniform(3, 30)), played_to_end=True, plays=1,
                ))
    Rating.objects.bulk_create(ratings)
    return campaign
