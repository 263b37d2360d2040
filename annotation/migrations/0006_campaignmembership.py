"""Researchers' roles per campaign (CampaignMembership) and the permission to analyse a campaign.

annotation.access reads both: a member acts on a campaign as far as their role and their Django
permissions allow.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0005_synthetictruth_moved_to_demo'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='campaign',
            options={'ordering': ['-created_at'], 'permissions': [('analyse_campaign', 'Can start analyses and exports of a campaign and download its exports')]},
        ),
        migrations.CreateModel(
            name='CampaignMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('analyst', 'Analyst'), ('viewer', 'Viewer')], default='viewer', max_length=8)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('campaign', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='annotation.campaign')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='campaign_memberships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['campaign_id', 'user_id'],
                'constraints': [models.UniqueConstraint(fields=('campaign', 'user'), name='membership_unique')],
            },
        ),
    ]
