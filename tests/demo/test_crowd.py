"""The simulated crowd, run once at the small size through the workflow services, checked from the database.

The simulation runs once for the module (inside a transaction that is rolled back); the tests read
what it stored. The expectations are the issue's: the MOS agrees with the known realism, the share
of annotators who had to redo is near the paper's 44%, reasons name the artifacts a video has far
more often than those it has not, and every rule of the platform held.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from scipy.stats import pearsonr, spearmanr

from analysis import figures
from analysis import selectors as analysis_selectors
from analysis.stats.reasons import categorize
from annotation.models import AnnotationSession, Annotator, Attempt, Rating, Video
from annotation.selectors import campaign_status
from demo import crowd
from demo.build import study_campaign_get_or_create, study_rows_register
from demo.study import SIZES, study_plan
from demo.wording import KINDS

# The mark makes pytest-django create the test database for the module-scoped simulation.
pytestmark = pytest.mark.django_db

# The small study with room for everyone (the preset's target leaves room for people instead).
CONFIG = replace(SIZES["small"], annotators=110, target_ratings_per_video=500, seed=11)


@pytest.fixture(scope="module")
def simulated(django_db_setup, django_db_blocker):
    """Build the small study (rows without files), simulate the crowd, read everything back, roll back."""
    with django_db_blocker.unblock(), transaction.atomic():
        plan = study_plan(CONFIG)
        campaign, _ = study_campaign_get_or_create(slug="simulated", title="Simulated", plan=plan)
        study_rows_register(campaign=campaign, plan=plan)
        report = crowd.crowd_simulate(campaign=campaign, annotators=CONFIG.annotators, seed=CONFIG.seed, days=2)
        ratings = pd.DataFrame.from_records(list(Rating.objects.filter(attempt__session__campaign=campaign).values(
            "attempt_id", "attempt__outcome", "attempt__number", "attempt__session__annotator_id", "video_id",
            "video__role", "video__gold_score", "video__is_real", "video__synthetic_truth__realism",
            "video__synthetic_truth__artifacts", "score", "reason", "typed_reason", "seconds_spent", "served_at",
        )))
        data = {
            "campaign": campaign,
            "report": report,
            "status": campaign_status(campaign),
            "ratings": ratings.rename(columns=lambda c: c.split("__")[-1] if c.startswith("video__") else c),
            "annotators": pd.DataFrame.from_records(list(Annotator.objects.filter(campaign=campaign).values(
                "id", "source", "age_group", "gender", "education", "prior_knowledge", "consented_at"))),
            "sessions": pd.DataFrame.from_records(list(AnnotationSession.objects.filter(campaign=campaign).values(
                "id", "annotator_id", "status"))),
            "attempt_outcomes": dict(Attempt.objects.filter(session__campaign=campaign).values_list("id", "outcome")),
            "attempts": pd.DataFrame.from_records(list(Attempt.objects.filter(session__campaign=campaign).values(
                "id", "session_id", "number", "outcome", "lecture_completed_at", "started_at", "finished_at"))),
            "session_times": pd.DataFrame.from_records(list(AnnotationSession.objects.filter(campaign=campaign).values(
                "id", "status", "started_at", "finished_at"))),
            "rating_times": pd.DataFrame.from_records(list(Rating.objects.filter(attempt__session__campaign=campaign).values(
                "attempt_id", "served_at", "created_at"))),
            "activity": analysis_selectors.monitor_activity_per_day(campaign),
        }
        transaction.set_rollback(True)
    return data


def test_the_mos_agrees_with_the_truth(simulated):
    ratings = simulated["ratings"]
    qualified = ratings[ratings["attempt__outcome"] == Attempt.Outcome.QUALIFIED]
    per_video = qualified.groupby("video_id").agg(mos=("score", "mean"), truth=("realism", "first"))
    assert len(per_video) == 54
    assert spearmanr(per_video["mos"], per_video["truth"])[0] >= 0.9
    assert pearsonr(per_video["mos"], per_video["truth"])[0] >= 0.9


def test_the_redo_share_is_the_papers(simulated):
    status, report = simulated["status"], simulated["report"]
    assert 0.30 <= status.redo_share <= 0.60, status.redo_share
    assert report.redo_share == pytest.approx(status.redo_share)
    assert report.disqualified == status.attempts_disqualified > 0


def test_the_checker_rule_held_for_every_attempt(simulated):
    ratings, outcomes = simulated["ratings"], simulated["attempt_outcomes"]
    checkers = ratings[ratings["role"] == Video.Role.CHECKER]
    missed = (checkers["score"] - checkers["gold_score"]).abs() > 1
    attempts_missing = set(checkers.loc[missed, "attempt_id"])
    finished = {a for a, o in outcomes.items() if o in (Attempt.Outcome.QUALIFIED, Attempt.Outcome.DISQUALIFIED)}
    assert {a for a in finished if outcomes[a] == Attempt.Outcome.DISQUALIFIED} == attempts_missing & finished
    assert (checkers.groupby("attempt_id").size()[sorted(finished)] == 5).all(), "five hidden checkers in every attempt"
    assert (ratings.groupby("attempt_id").size()[sorted(finished)] == 40).all()


def test_sessions_annotators_and_drop_outs(simulated):
    sessions, annotators, report = simulated["sessions"], simulated["annotators"], simulated["report"]
    assert len(annotators) == CONFIG.annotators and (annotators["source"] == "prolific").all()
    assert sessions.groupby("annotator_id").size().max() == 1, "one session per annotator, redone in place"
    assert (sessions["status"] == AnnotationSession.Status.QUALIFIED).sum() == report.qualified
    # Drop-outs and people who gave up leave sessions that the periodic release marked abandoned.
    assert (sessions["status"] == AnnotationSession.Status.ABANDONED).sum() == report.dropped_out + report.gave_up
    assert not (sessions["status"] == AnnotationSession.Status.ACTIVE).any()


def test_grade5_follows_the_fixed_sentence_rule(simulated):
    ratings, campaign = simulated["ratings"], simulated["campaign"]
    fives = ratings[ratings["score"] == 5]
    assert len(fives) > 100
    assert (fives["reason"] == campaign.grade5_reason).all()
    assert (fives["typed_reason"] != campaign.grade5_reason).all()
    others = ratings[ratings["score"] < 5]
    assert (others["reason"] == others["typed_reason"]).all()
    assert (ratings["typed_reason"].str.len() >= campaign.min_reason_length).all()


def test_times_are_the_simulated_ones(simulated):
    ratings, annotators = simulated["ratings"], simulated["annotators"]
    assert 12 <= ratings["seconds_spent"].median() <= 45
    assert ratings["seconds_spent"].quantile(0.9) <= 120
    day_ago = timezone.now() - pd.Timedelta(hours=20)
    assert ratings["served_at"].max() < day_ago and annotators["consented_at"].max() < day_ago


def test_every_attempt_starts_before_it_finishes_and_holds_its_ratings(simulated):
    """Creation times are simulated ones too (crowd_clock_apply): the platform stamps them with the wall clock."""
    attempts, sessions, ratings = simulated["attempts"], simulated["session_times"], simulated["rating_times"]
    finished = attempts.dropna(subset=["finished_at"])
    assert len(finished) and (finished["started_at"] <= finished["finished_at"]).all()
    first = attempts[attempts["number"] == 1].set_index("session_id")
    assert (first["started_at"] == first["lecture_completed_at"]).all()
    later = attempts[attempts["number"] > 1]
    assert len(later), "the simulation has redone attempts"
    before = attempts.set_index(["session_id", "number"])["finished_at"]
    assert (later["started_at"].to_numpy() == before.loc[list(zip(later["session_id"], later["number"] - 1))].to_numpy()).all()
    # A session starts with its first attempt and, once qualified, ends with its qualifying one.
    sessions = sessions.set_index("id")
    assert (sessions["started_at"] == first["started_at"].reindex(sessions.index)).all()
    qualified = attempts[attempts["outcome"] == Attempt.Outcome.QUALIFIED].set_index("session_id")
    assert (sessions.loc[qualified.index, "finished_at"] == qualified["finished_at"]).all()
    # Every rating lies within its attempt: served after the attempt (its lecture) started, created by its finish.
    span = attempts.set_index("id")
    joined = ratings.join(span[["started_at", "lecture_completed_at", "finished_at"]], on="attempt_id")
    assert (joined["served_at"] >= joined["started_at"]).all() and (joined["served_at"] >= joined["lecture_completed_at"]).all()
    assert (joined["created_at"] >= joined["served_at"]).all()
    done = joined.dropna(subset=["finished_at"])
    assert (done["created_at"] <= done["finished_at"]).all()
    assert sessions["started_at"].max() < timezone.now() - pd.Timedelta(hours=20), "no creation time is the wall clock"


def test_per_day_charts_count_the_data_the_same_way(simulated):
    """The two per-day charts read one frame, and its days and totals are those of the stored rows (days in TIME_ZONE)."""
    activity, attempts, sessions = simulated["activity"], simulated["attempts"], simulated["session_times"]
    zone = settings.TIME_ZONE
    assert len(activity) >= 2, "two simulated days"
    days = pd.to_datetime(activity["day"]).dt.date
    assert list(days) == sorted(days) and (pd.Series(days).diff().dropna() == pd.Timedelta(days=1)).all()
    assert activity["sessions_started"].sum() == len(sessions)
    by_day = sessions["started_at"].dt.tz_convert(zone).dt.date.value_counts()
    assert dict(zip(days, activity["sessions_started"])) == {day: by_day.get(day, 0) for day in days}
    for outcome, column in ((Attempt.Outcome.QUALIFIED, "qualified"), (Attempt.Outcome.DISQUALIFIED, "disqualified")):
        rows = attempts[attempts["outcome"] == outcome]
        per_day = rows["finished_at"].dt.tz_convert(zone).dt.date.value_counts()
        assert dict(zip(days, activity[column])) == {day: per_day.get(day, 0) for day in days}, column
    # A session qualifies with its qualifying attempt: the day's qualified sessions are its qualified attempts.
    assert activity["qualified"].sum() == (sessions["status"] == "qualified").sum()
    ctx = figures.Context(results={}, monitor={"activity_per_day": activity})
    sessions_figure, _ = figures.sessions_chart(ctx)
    rate_figure, _ = figures.disqualification_chart(ctx)
    started, qualified = sessions_figure.data
    assert sum(started.y) == len(sessions) and sum(qualified.y) == activity["qualified"].sum()
    finished = activity[activity["finished"] > 0]
    assert list(rate_figure.data[0].x) == list(pd.to_datetime(finished["day"]).dt.strftime("%Y-%m-%d"))
    assert list(rate_figure.data[0].y) == pytest.approx(list(finished["disqualified"] / finished["finished"]))


def test_demographics_follow_the_papers_proportions(simulated):
    annotators = simulated["annotators"]
    assert annotators[["age_group", "gender", "education", "prior_knowledge"]].ne("").all().all()
    share = annotators["prior_knowledge"].value_counts(normalize=True)
    assert share["none"] > 0.55
    assert annotators["age_group"].value_counts().idxmax() == "20-29"
    assert annotators["education"].value_counts().idxmax() == "bachelor"


def test_reasons_name_the_artifacts_the_video_has(simulated):
    ratings = simulated["ratings"]
    low = ratings[ratings["score"] < 5].reset_index(drop=True)
    hits = categorize(low["typed_reason"])
    present_rates, absent_rates = [], []
    for kind, wording in KINDS.items():
        strength = low["artifacts"].map(lambda a, k=kind: a.get(k, 0.0)).to_numpy()
        same_category = [k for k, w in KINDS.items() if w.category == wording.category]
        absent = np.all([low["artifacts"].map(lambda a, k=k: a.get(k, 0.0)).to_numpy() == 0 for k in same_category], axis=0)
        present = strength >= 0.3
        named = hits[wording.category].to_numpy()
        if present.sum() >= 30:
            present_rates.append(named[present].mean())
            absent_rates.append(named[absent].mean())
            assert named[present].mean() > 3 * named[absent].mean(), kind
    assert np.mean(present_rates) >= 0.3 and np.mean(absent_rates) <= 0.05
    # ... but not perfectly: vague, wrong and person-centred reasons exist.
    assert (hits["others"] | hits["artifact"]).mean() > 0.05


def test_prior_knowledge_makes_people_harder_to_fool():
    """The model alone: experts rate a very good fake 5 less often than people new to deepfakes."""
    model = crowd.CrowdModel()
    # A good fake, near the top of the scale.
    video = crowd.VideoTruth(realism=4.4, fake=True, strengths={"blur": 0.1}, person={}, duration_s=2.0)
    rng = np.random.default_rng(0)
    fooled = {}
    for prior in ("none", "expert"):
        grades = []
        for i in range(600):
            persona = crowd.persona_draw(model, rng, i)
            persona.prior_knowledge, persona.careless = prior, False
            grades.append(crowd.grades_draw(persona, model, [video], rng)[0])
        fooled[prior] = np.mean(np.array(grades) == 5)
    assert fooled["expert"] < 0.8 * fooled["none"]
