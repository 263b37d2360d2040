"""Media names keyed per campaign: each campaign gets its own `media_secret`, and its videos' and
posters' stored files are renamed from the source's SHA-256 to the HMAC of it under that secret
(`annotation.media.stored_names`, repeated here as it is today: a migration must not change with
the code).

Files are copied through the storage API (the local folder or object storage alike), then the old
names no video names any more are deleted. A file two campaigns shared (the same source bytes)
becomes two files, one per campaign: that is the point. A video whose file is missing keeps its
row, renamed all the same (the status page lists it, as before). Reversing keeps the new names.
"""
import hashlib
import hmac
import secrets

from django.core.files.storage import default_storage
from django.db import migrations, models

import annotation.models


def _names(secret: str, content_hash: str) -> tuple[str, str]:
    key = hmac.new(secret.encode(), content_hash.encode(), hashlib.sha256).hexdigest()
    return f"videos/{key}.mp4", f"posters/{key}.jpg"


def secrets_give_and_files_rename(apps, schema_editor):
    Campaign, Video = apps.get_model("annotation", "Campaign"), apps.get_model("annotation", "Video")
    old_names = set()
    for campaign in Campaign.objects.all():
        campaign.media_secret = secrets.token_hex(32)
        campaign.save(update_fields=["media_secret"])
        for video in Video.objects.filter(campaign=campaign).exclude(content_hash=""):
            new_video, new_poster = _names(campaign.media_secret, video.content_hash)
            for old, new in ((video.file.name, new_video), (video.poster.name, new_poster)):
                if old and old != new and default_storage.exists(old) and not default_storage.exists(new):
                    with default_storage.open(old, "rb") as handle:
                        default_storage.save(new, handle)
                if old:
                    old_names.add(old)
            video.file, video.poster = new_video, new_poster
            video.save(update_fields=["file", "poster"])
    still_named = set(Video.objects.values_list("file", flat=True)) | set(Video.objects.values_list("poster", flat=True))
    for name in old_names - still_named:
        if default_storage.exists(name):
            default_storage.delete(name)


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0010_annotator_created_at_consent"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="media_secret",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(secrets_give_and_files_rename, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="campaign",
            name="media_secret",
            field=models.CharField(default=annotation.models.media_secret_new, editable=False, max_length=64),
        ),
    ]
