"""Data migrations run against a database that already holds a study."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


@pytest.mark.django_db(transaction=True)
def test_assigned_sessions_are_counted_from_existing_sessions():
    """0003 fills Video.assigned_sessions from the sessions in progress or qualified, not abandoned ones."""
    before, after = [("annotation", "0002_synthetic_truth")], [("annotation", "0003_video_assigned_sessions")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Campaign, Video = apps.get_model("annotation", "Campaign"), apps.get_model("annotation", "Video")
    Annotator, Session = apps.get_model("annotation", "Annotator"), apps.get_model("annotation", "AnnotationSession")
    SessionItem = apps.get_model("annotation", "SessionItem")
    campaign = Campaign.objects.create(slug="old", title="Old study")
    videos = [Video.objects.create(campaign=campaign, role=role, content_hash=f"{i:064d}", source_name=f"v{i}.mp4",
                                   file=f"videos/{i}.mp4", poster=f"posters/{i}.jpg")
              for i, role in enumerate(["regular", "regular", "regular", "checker"])]
    now = timezone.now()
    for n, status in enumerate(["active", "qualified", "abandoned", "qualified"]):
        annotator = Annotator.objects.create(campaign=campaign, source="prolific", external_id=f"A{n}")
        session = Session.objects.create(campaign=campaign, annotator=annotator, status=status, last_activity_at=now)
        held = videos if n < 3 else videos[:1]
        SessionItem.objects.bulk_create(SessionItem(session=session, video=v) for v in held)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    Video = executor.loader.project_state(after).apps.get_model("annotation", "Video")
    counted = dict(Video.objects.filter(campaign__slug="old").values_list("source_name", "assigned_sessions"))
    # active + qualified (+ the fourth, qualified, session for v0); the abandoned one and checkers count nothing.
    assert counted == {"v0.mp4": 3, "v1.mp4": 2, "v2.mp4": 2, "v3.mp4": 0}

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # leave the schema as the other tests expect


def index_columns(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name: c["columns"] for name, c in constraints.items() if c["index"] or c["unique"]}


@pytest.mark.django_db(transaction=True)
def test_redundant_foreign_key_indexes_are_dropped_and_restored():
    """0004 drops each foreign key's own index, its column still leading another index; unapplied, it restores them."""
    from importlib import import_module

    redundant = import_module("annotation.migrations.0004_fk_indexes_covered_by_unique").REDUNDANT_INDEXES
    assert {table for table, _ in redundant.values()} >= {"annotation_rating", "annotation_sessionitem"}
    for name, (table, column) in redundant.items():
        indexes = index_columns(table)
        assert name not in indexes
        assert any(columns[0] == column for columns in indexes.values()), f"{table}.{column} lost its index"

    executor = MigrationExecutor(connection)
    executor.migrate([("annotation", "0003_video_assigned_sessions")])
    try:
        for name, (table, column) in redundant.items():
            assert index_columns(table)[name] == [column]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert all(name not in index_columns(table) for name, (table, _) in redundant.items())


@pytest.mark.django_db(transaction=True)
def test_campaigns_get_their_own_media_secret_and_files_their_keyed_names():
    """0009 deletes the rows of people who never consented; 0010 gives each campaign a secret and
    renames its stored files to the HMAC names (a file two campaigns shared becomes one each; the
    old name goes once nothing names it)."""
    import hashlib
    import hmac

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    before, after = [("annotation", "0008_campaign_launch_settings")], [("annotation", "0011_campaign_media_secret")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Campaign, Video = apps.get_model("annotation", "Campaign"), apps.get_model("annotation", "Video")
    Annotator, ConsentText = apps.get_model("annotation", "Annotator"), apps.get_model("annotation", "ConsentText")
    digest = hashlib.sha256(b"migration test clip").hexdigest()
    old_video, old_poster = f"videos/{digest}.mp4", f"posters/{digest}.jpg"
    for name, data in ((old_video, b"mp4 bytes"), (old_poster, b"jpg bytes")):
        default_storage.delete(name)
        default_storage.save(name, ContentFile(data))
    campaigns = [Campaign.objects.create(slug=f"old-{n}", title="Old") for n in range(2)]
    for campaign in campaigns:  # the same source file in both
        Video.objects.create(campaign=campaign, role="regular", content_hash=digest, source_name="clip.mp4",
                             file=old_video, poster=old_poster)
    consent = ConsentText.objects.create(campaign=campaigns[0], version=1, text="t")
    Annotator.objects.create(campaign=campaigns[0], source="link", external_id="visited-only")
    Annotator.objects.create(campaign=campaigns[0], source="link", external_id="agreed", consent=consent, consented_at=timezone.now())

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    apps = executor.loader.project_state(after).apps
    Campaign, Video = apps.get_model("annotation", "Campaign"), apps.get_model("annotation", "Video")
    Annotator = apps.get_model("annotation", "Annotator")
    assert list(Annotator.objects.values_list("external_id", flat=True)) == ["agreed"]
    secrets_ = set()
    try:
        for campaign in Campaign.objects.filter(slug__startswith="old-"):
            assert len(campaign.media_secret) == 64
            secrets_.add(campaign.media_secret)
            key = hmac.new(campaign.media_secret.encode(), digest.encode(), hashlib.sha256).hexdigest()
            video = Video.objects.get(campaign=campaign)
            assert (video.file.name, video.poster.name) == (f"videos/{key}.mp4", f"posters/{key}.jpg")
            assert default_storage.open(video.file.name).read() == b"mp4 bytes"
            assert default_storage.open(video.poster.name).read() == b"jpg bytes"
        assert len(secrets_) == 2
        assert not default_storage.exists(old_video) and not default_storage.exists(old_poster)
    finally:
        for video in Video.objects.filter(campaign__slug__startswith="old-"):
            default_storage.delete(video.file.name), default_storage.delete(video.poster.name)
        Annotator.objects.filter(campaign__slug__startswith="old-").delete()
        apps.get_model("annotation", "ConsentText").objects.filter(campaign__slug__startswith="old-").delete()
        Campaign.objects.filter(slug__startswith="old-").delete()
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
