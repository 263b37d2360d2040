"""The Withdrawal table: the record, without personal data, of an annotator's data deleted on request."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0006_campaignmembership'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Withdrawal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('annotator', models.CharField(help_text="The annotator's pseudonym in exports (annotation.pseudonyms.annotator_name).", max_length=20)),
                ('withdrawn_at', models.DateTimeField()),
                ('first_rating_at', models.DateTimeField(blank=True, help_text='When their first rating was stored; empty when they had none (no export held them).', null=True)),
                ('ratings_deleted', models.PositiveIntegerField()),
                ('attempts_deleted', models.PositiveIntegerField()),
                ('sessions_deleted', models.PositiveIntegerField()),
                ('campaign', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='withdrawals', to='annotation.campaign')),
                ('requested_by', models.ForeignKey(blank=True, help_text='The staff member who carried out the request.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['campaign_id', '-withdrawn_at'],
            },
        ),
    ]
