"""SyntheticTruth moves from annotation to demo (annotation 0005, demo 0001) with its rows, its foreign key and its content type."""
from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

# The model still in annotation; contenttypes named for its model state at the current schema.
BEFORE = [("annotation", "0004_fk_indexes_covered_by_unique"), ("contenttypes", "0002_remove_content_type_name")]
AFTER = [("demo", "0001_initial")]


def migrated_to(targets):
    """Migrates the test database to `targets`; returns the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def foreign_keys(table: str) -> dict[tuple[str, ...], tuple[str, str]]:
    """The table's foreign keys as introspected from the database: columns -> (table, column) they point at."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {tuple(c["columns"]): c["foreign_key"] for c in constraints.values() if c["foreign_key"]}


@pytest.mark.django_db(transaction=True)
def test_synthetic_truth_rows_move_to_the_demo_app_and_back():
    old = migrated_to(BEFORE)
    assert "annotation_synthetictruth" in connection.introspection.table_names()
    Campaign, Video = old.get_model("annotation", "Campaign"), old.get_model("annotation", "Video")
    OldTruth = old.get_model("annotation", "SyntheticTruth")
    ContentType = old.get_model("contenttypes", "ContentType")
    campaign = Campaign.objects.create(slug="old", title="Old study")
    videos = [Video.objects.create(campaign=campaign, role="regular", content_hash=f"{i:064d}", source_name=f"v{i}.mp4",
                                   file=f"videos/{i}.mp4", poster=f"posters/{i}.jpg") for i in range(2)]
    written = {
        "realism": 3.25, "artifacts": {"blur": 0.5, "seam": 0.125}, "target_identity": "id00",
        "source_identity": "id01", "person": {"age": "adult", "glasses": False}, "generator": "synthetic-dream/1",
    }
    OldTruth.objects.create(video=videos[0], **written)
    content_type = ContentType.objects.get_or_create(app_label="annotation", model="synthetictruth")[0].pk

    try:
        new = migrated_to(AFTER)
        tables = connection.introspection.table_names()
        assert "demo_synthetictruth" in tables and "annotation_synthetictruth" not in tables
        NewTruth = new.get_model("demo", "SyntheticTruth")
        truth = NewTruth.objects.select_related("video").get()
        assert {field: getattr(truth, field) for field in written} == written
        assert truth.video.source_name == "v0.mp4" and truth.video.campaign.slug == "old"
        assert new.get_model("annotation", "Video").objects.get(source_name="v0.mp4").synthetic_truth.pk == truth.pk
        # The database still holds the foreign key to annotation_video and enforces it.
        assert foreign_keys("demo_synthetictruth") == {("video_id",): ("annotation_video", "id")}
        with pytest.raises(IntegrityError), transaction.atomic():
            NewTruth.objects.create(video_id=videos[1].pk + 1000, **written)
        NewTruth.objects.create(video_id=videos[1].pk, **{**written, "realism": 1.5})  # the id sequence goes on
        assert NewTruth.objects.count() == 2
        # The content type was relabelled, not replaced: permissions pointing at it follow the model.
        moved = new.get_model("contenttypes", "ContentType").objects.filter(model="synthetictruth")
        assert list(moved.values_list("pk", "app_label")) == [(content_type, "demo")]

        # Unapplied, the table and the content type go back to annotation with every row.
        old = migrated_to(BEFORE)
        assert "annotation_synthetictruth" in connection.introspection.table_names()
        realism = dict(old.get_model("annotation", "SyntheticTruth").objects.values_list("video__source_name", "realism"))
        assert realism == {"v0.mp4": 3.25, "v1.mp4": 1.5}
        assert old.get_model("contenttypes", "ContentType").objects.get(model="synthetictruth").app_label == "annotation"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # leave the schema as the other tests expect


@pytest.mark.django_db
def test_the_model_reads_the_moved_table():
    from annotation.models import Video
    from demo.models import SyntheticTruth

    assert SyntheticTruth._meta.db_table == "demo_synthetictruth"
    assert Video._meta.get_field("synthetic_truth").related_model is SyntheticTruth
    assert SyntheticTruth.objects.count() == 0  # the table is there under that name
