"""Analysis runs become jobs (3 of 3): every run has its job; the run's own copies of the job's fields go."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("analysis", "0003_analysisrun_records_to_jobs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="analysisrun",
            name="job",
            field=models.OneToOneField(on_delete=models.deletion.CASCADE, related_name="analysis_run", to="jobs.job"),
        ),
        migrations.RemoveField(model_name="analysisrun", name="version"),
        migrations.RemoveField(model_name="analysisrun", name="status"),
        migrations.RemoveField(model_name="analysisrun", name="stage"),
        migrations.RemoveField(model_name="analysisrun", name="error"),
        migrations.RemoveField(model_name="analysisrun", name="parameters"),
        migrations.RemoveField(model_name="analysisrun", name="inputs"),
        migrations.RemoveField(model_name="analysisrun", name="code_version"),
        migrations.RemoveField(model_name="analysisrun", name="summary"),
        migrations.RemoveField(model_name="analysisrun", name="requested_by"),
        migrations.RemoveField(model_name="analysisrun", name="created_at"),
        migrations.RemoveField(model_name="analysisrun", name="started_at"),
        migrations.RemoveField(model_name="analysisrun", name="finished_at"),
        migrations.AlterModelOptions(name="analysisrun", options={"ordering": ["-id"]}),
    ]
