"""SyntheticTruth arrives from annotation (annotation's 0005 renamed its table to demo_synthetictruth).

The model enters demo's migration state only: its table, with its rows and its foreign key to
annotation_video, already exists under the name this state gives it. The content type
annotation.synthetictruth is relabelled rather than left stale beside a new one, so it keeps its
id, and the permissions and admin log entries that point at it follow the model.
"""

import django.db.models.deletion
from django.db import migrations, models


def content_type_relabel(from_label: str, to_label: str):
    """A RunPython function that moves the content type of synthetictruth from one app label to another."""

    def relabel(apps, schema_editor):
        ContentType = apps.get_model('contenttypes', 'ContentType')
        db = schema_editor.connection.alias
        # On a fresh database there is none yet (post_migrate creates content types after every
        # migration); if the target already exists, the old one is left for remove_stale_contenttypes.
        if not ContentType.objects.using(db).filter(app_label=to_label, model='synthetictruth').exists():
            ContentType.objects.using(db).filter(app_label=from_label, model='synthetictruth').update(app_label=to_label)

    return relabel


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('annotation', '0005_synthetictruth_moved_to_demo'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SyntheticTruth',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('realism', models.FloatField()),
                        ('artifacts', models.JSONField(blank=True, default=dict)),
                        ('target_identity', models.CharField(help_text='The person whose video it is.', max_length=20)),
                        ('source_identity', models.CharField(help_text='The person whose face it shows.', max_length=20)),
                        ('person', models.JSONField(blank=True, default=dict, help_text='What a viewer can tell about the person shown.')),
                        ('generator', models.CharField(help_text='Version of the generator that made it.', max_length=40)),
                        ('video', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='synthetic_truth', to='annotation.video')),
                    ],
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_relabel('annotation', 'demo'), content_type_relabel('demo', 'annotation')),
    ]
