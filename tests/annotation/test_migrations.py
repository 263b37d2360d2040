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
