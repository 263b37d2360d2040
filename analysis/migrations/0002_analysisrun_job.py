"""Analysis runs become jobs (1 of 3): a run gets a link to its job; its own version may be empty.

The runs' records move to jobs.Job in 0003 and their own copies go in 0004. Three migrations, each
in its own transaction: PostgreSQL refuses to alter a table whose rows were just updated in the
same transaction (pending foreign-key checks).
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("analysis", "0001_initial"),
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="analysisrun",
            name="job",
            field=models.OneToOneField(null=True, on_delete=models.deletion.CASCADE, related_name="analysis_run", to="jobs.job"),
        ),
        migrations.RemoveConstraint(model_name="analysisrun", name="analysis_run_version_unique"),
        migrations.RemoveIndex(model_name="analysisrun", name="analysis_an_campaig_a3eae2_idx"),
        # Nullable once the job holds it, so that unapplying 0004 can add it back before 0003 refills it.
        migrations.AlterField(model_name="analysisrun", name="version", field=models.PositiveIntegerField(null=True)),
    ]
