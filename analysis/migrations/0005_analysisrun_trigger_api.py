"""Runs started through the API say so (trigger "api")."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analysis', '0004_analysisrun_fields_on_job'),
    ]

    operations = [
        migrations.AlterField(
            model_name='analysisrun',
            name='trigger',
            field=models.CharField(choices=[('dashboard', 'Dashboard'), ('command', 'Command'), ('schedule', 'Schedule'), ('api', 'API')], default='dashboard', max_length=10),
        ),
    ]
