"""The campaign the benchmark runs on: its shape, its fake video rows and the seeded history of a study under way."""
from __future__ import annotations

import random

SLUG = "bench"
VIDEOS_PER_SESSION = 40
CHECKERS_PER_SESSION = 5
MIN_REASON = 5


def setup_campaign(args) -> dict:
    """Migrate, create the bare-insert table and the campaign with fake video rows.

    Returns the demographics form's choices: field -> allowed values."""
    import hashlib

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from annotation.models import Annotator, Campaign, ConsentText, Video
    from bench.urls import BARE_TABLE_SQL

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(BARE_TABLE_SQL)
    campaign = Campaign.objects.create(
        slug=SLUG, title="Load benchmark", videos_per_session=VIDEOS_PER_SESSION,
        checkers_per_session=CHECKERS_PER_SESSION, min_reason_length=MIN_REASON,
        target_ratings_per_video=1_000_000, sessions_per_annotator=1,
        completion_code="LOAD-DONE",  # the launch checklist (annotation.readiness) wants one
    )
    ConsentText.objects.create(campaign=campaign, version=1, text=(
        "You are taking part in a study on how realistic face-swap videos look.\n\n"
        "Your ratings are stored with your answers about yourself, not with your name."))
    rng = random.Random(1)
    videos = []

    def row(role, i, **extra):
        digest = hashlib.sha256(f"bench-{role}-{i}".encode()).hexdigest()
        return Video(campaign=campaign, role=role, content_hash=digest, source_name=f"bench_{role}_{i}.mp4",
                     file=f"videos/{digest}.mp4", poster=f"posters/{digest}.jpg", duration_s=5.0,
                     fps=25, width=640, height=360, **extra)

    for i in range(args.videos):
        videos.append(row(Video.Role.REGULAR, i, method=f"fs{i % 7}", identity_pair=f"id{i % 13}"))
    for i in range(args.checkers):
        videos.append(row(Video.Role.CHECKER, i, gold_score=rng.choice([1, 5]), method="check"))
    for grade in range(1, 6):
        videos.append(row(Video.Role.DEMO, grade, demo_grade=grade, demo_reason=f"Example of grade {grade}."))
    Video.objects.bulk_create(videos)
    connection.close()
    return {
        "age_group": Annotator.AgeGroup.values, "gender": Annotator.Gender.values,
        "education": Annotator.Education.values, "prior_knowledge": Annotator.PriorKnowledge.values,
    }


HISTORY_PREFIX = "history-"


def seed_history(sessions: int) -> int:
    """Give the campaign a past: `sessions` earlier annotators, each with one qualified session
    (35 regular videos in turn, 5 checkers), its attempt and 40 ratings, and the videos' counters.

    The phases then measure a study under way, as a server sees it: tables of realistic size with
    planner statistics taken on them, which the growth during a 30 s phase hardly changes. Started
    from empty tables, the statistics said "empty" and the plans kept scanning tables that grew to
    thousands of rows within the phase (autovacuum, which would re-analyze them, is off here).
    Returns the highest seeded rating id: the integrity check looks at the ratings above it.
    """
    from django.db import connection, transaction

    from annotation.models import Annotator, Campaign

    campaign = Campaign.objects.get(slug=SLUG)
    params = {
        "campaign": campaign.pk, "n": sessions, "prefix": HISTORY_PREFIX, "consent": campaign.consent_texts.get().pk,
        "regular": campaign.regular_per_session, "checkers": campaign.checkers_per_session,
        "age": Annotator.AgeGroup.values[1], "gender": Annotator.Gender.values[0],
        "education": Annotator.Education.values[1], "prior": Annotator.PriorKnowledge.values[1],
    }
    statements = [
        """INSERT INTO annotation_annotator (campaign_id, source, external_id, platform_params, consent_id, consented_at,
               age_group, gender, education, prior_knowledge, demographics_at, created_at, entry_token)
           SELECT %(campaign)s, 'prolific', %(prefix)s || g, '{}', %(consent)s, now() - interval '1 day',
                  %(age)s, %(gender)s, %(education)s, %(prior)s, now() - interval '1 day', now() - interval '1 day', ''
           FROM generate_series(0, %(n)s - 1) g""",
        """INSERT INTO annotation_annotationsession (campaign_id, annotator_id, status, started_at, last_activity_at, finished_at)
           SELECT %(campaign)s, id, 'qualified', now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
           FROM annotation_annotator WHERE campaign_id = %(campaign)s AND external_id LIKE %(prefix)s || '%%'""",
        # Session k holds the regular videos k*35 ... k*35+34 and the checkers k*5 ... k*5+4, modulo their numbers.
        """INSERT INTO annotation_sessionitem (session_id, video_id)
           SELECT s.id, v.id
           FROM annotation_annotationsession s
           JOIN annotation_annotator an ON an.id = s.annotator_id AND an.external_id LIKE %(prefix)s || '%%'
           CROSS JOIN LATERAL (SELECT substring(an.external_id FROM char_length(%(prefix)s) + 1)::int AS k) session
           JOIN (SELECT id, role, row_number() OVER (PARTITION BY role ORDER BY id) - 1 AS k, count(*) OVER (PARTITION BY role) AS n
                 FROM annotation_video WHERE campaign_id = %(campaign)s AND role IN ('regular', 'checker')) v
             ON ((v.k - session.k * CASE v.role WHEN 'regular' THEN %(regular)s ELSE %(checkers)s END) %% v.n + v.n) %% v.n
                < CASE v.role WHEN 'regular' THEN %(regular)s ELSE %(checkers)s END
           WHERE s.campaign_id = %(campaign)s""",
        """INSERT INTO annotation_attempt (session_id, number, video_order, outcome, lecture_completed_at, started_at, finished_at)
           SELECT si.session_id, 1, jsonb_agg(si.video_id ORDER BY md5(si.id::text)), 'qualified',
                  now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
           FROM annotation_sessionitem si JOIN annotation_annotationsession s ON s.id = si.session_id
           WHERE s.campaign_id = %(campaign)s GROUP BY si.session_id""",
        """INSERT INTO annotation_rating (attempt_id, video_id, position, score, reason, typed_reason, served_at,
               seconds_spent, played_to_end, plays, seeks, fullscreen, created_at, updated_at)
           SELECT a.id, item.video_id::bigint, item.position, 1 + (a.id + item.position) %% 5,
                  'The mouth edges look blurry', 'The mouth edges look blurry', now() - interval '1 day',
                  12.5, true, 1, 0, false, now() - interval '1 day', now() - interval '1 day'
           FROM annotation_attempt a
           JOIN annotation_annotationsession s ON s.id = a.session_id AND s.campaign_id = %(campaign)s
           CROSS JOIN LATERAL jsonb_array_elements_text(a.video_order) WITH ORDINALITY AS item(video_id, position)""",
        """UPDATE annotation_video v SET assigned_sessions = held.n
           FROM (SELECT si.video_id, count(*) AS n FROM annotation_sessionitem si
                 JOIN annotation_annotationsession s ON s.id = si.session_id
                 WHERE s.campaign_id = %(campaign)s AND s.status IN ('active', 'qualified') GROUP BY si.video_id) held
           WHERE v.id = held.video_id AND v.role = 'regular'""",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)
        cursor.execute("SELECT coalesce(max(id), 0), count(*) FROM annotation_rating")
        last_id, count = cursor.fetchone()
    connection.close()
    assert count == sessions * campaign.videos_per_session, (count, sessions)
    return last_id
