"""Drop the single-column indexes of foreign keys that lead a composite index already.

Each of these columns is the first column of a unique constraint or composite index (for example
rating (attempt_id, video_id)), which serves every lookup by that column; the extra index only cost
a write per inserted row, on the tables the annotation flow writes most (ratings, session items).
Only the indexes are dropped: the models' `db_index=False` goes into the migration state, and the
foreign-key constraints are left alone (AlterField would drop and re-validate each of them, a scan
of the ratings table under lock).
"""

import django.db.models.deletion
from django.db import migrations, models


REDUNDANT_INDEXES = {  # index -> (table, column), as 0001 named them
    "annotation_annotationsession_campaign_id_49a3016e": ("annotation_annotationsession", "campaign_id"),
    "annotation_annotator_campaign_id_ee9e7eef": ("annotation_annotator", "campaign_id"),
    "annotation_attempt_session_id_46d3f3b9": ("annotation_attempt", "session_id"),
    "annotation_consenttext_campaign_id_3673c2be": ("annotation_consenttext", "campaign_id"),
    "annotation_rating_attempt_id_9d1ef684": ("annotation_rating", "attempt_id"),
    "annotation_sessionitem_session_id_237c1273": ("annotation_sessionitem", "session_id"),
    "annotation_video_campaign_id_3500de81": ("annotation_video", "campaign_id"),
}


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0003_video_assigned_sessions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                *(migrations.RunSQL(f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX {name} ON {table} ({column})")
                  for name, (table, column) in REDUNDANT_INDEXES.items()),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='annotationsession',
                    name='campaign',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sessions', to='annotation.campaign'),
                ),
                migrations.AlterField(
                    model_name='annotator',
                    name='campaign',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='annotators', to='annotation.campaign'),
                ),
                migrations.AlterField(
                    model_name='attempt',
                    name='session',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='attempts', to='annotation.annotationsession'),
                ),
                migrations.AlterField(
                    model_name='consenttext',
                    name='campaign',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='consent_texts', to='annotation.campaign'),
                ),
                migrations.AlterField(
                    model_name='rating',
                    name='attempt',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='ratings', to='annotation.attempt'),
                ),
                migrations.AlterField(
                    model_name='sessionitem',
                    name='session',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='annotation.annotationsession'),
                ),
                migrations.AlterField(
                    model_name='video',
                    name='campaign',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='videos', to='annotation.campaign'),
                ),
    
            ],
        ),
    ]
