"""The permission groups an administrator gives researchers: Researchers, Analysts, Viewers.

A non-superuser acts on a campaign when their role in it allows the action AND they hold the
action's Django permission (annotation.access). The groups hold those permissions, plus the model
permissions of the admin pages each kind of researcher uses, and nothing else:

- Researchers (who run studies: any role, owners included): create campaigns and change their
  settings, consent texts and members; correct video labels; withdraw an annotator's consent
  (admin action, delete_annotator) and release sessions (change_annotationsession); analyse and
  export; read the admin's lists. Deleting a campaign (and every rating in it) is left to superusers.
- Analysts: view and analyse (analyses, exports, exclusions), read the admin's lists.
- Viewers: view only.

The membership still decides per campaign: a Researcher who is an analyst of a campaign may not
change it. Made by a post_migrate receiver (apps.py), not a data migration: Django creates model
permissions in post_migrate, after every migration ran, so a data migration on a fresh database finds
none to give; the receiver also runs after `flush` (tests' transactional flushes), and a permission
added to these lists reaches existing databases at the next `migrate` without a migration of its
own. It sets each group to exactly these permissions: grant anything more through another group.
"""
from __future__ import annotations

from django.apps import apps as global_apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

from .access import CREATE_PERMISSION, PERMISSIONS, Action

# The admin's read-only lists a researcher may open (rows limited to their campaigns there).
_ADMIN_VIEW = (
    "annotation.view_campaign", "annotation.view_campaignmembership", "annotation.view_consenttext",
    "annotation.view_video", "annotation.view_annotator", "annotation.view_annotationsession",
    "annotation.view_attempt", "annotation.view_rating",
    "analysis.view_analysisrun", "analysis.view_annotatorexclusion", "jobs.view_job", "modeling.view_trainedmodel",
)
GROUPS: dict[str, tuple[str, ...]] = {
    "Researchers": (
        *PERMISSIONS.values(), CREATE_PERMISSION, *_ADMIN_VIEW,
        "annotation.add_campaignmembership", "annotation.delete_campaignmembership",
        "annotation.add_consenttext", "annotation.change_consenttext",
        "annotation.change_video", "annotation.delete_annotator", "annotation.change_annotationsession",
    ),
    "Analysts": (PERMISSIONS[Action.VIEW], PERMISSIONS[Action.ANALYSE], *_ADMIN_VIEW),
    "Viewers": (PERMISSIONS[Action.VIEW], *_ADMIN_VIEW),
}


def groups_sync(sender=None, *, using: str = DEFAULT_DB_ALIAS, apps=global_apps, **_) -> None:
    """post_migrate receiver: create or update the groups with exactly their permissions.

    Acts once per migrate, on the signal of the last installed app with models, when every app's permissions exist
    (Django's own receiver creates each app's just before). Idempotent. A permission of an app that
    is not installed is skipped; one of an installed app that does not exist is a mistake here and
    raises."""
    configs = list(global_apps.get_app_configs())
    last = [c for c in configs if c.models_module is not None][-1]  # migrate signals apps with models only
    if sender is not None and sender.label != last.label:
        return
    try:
        group_model, permission_model = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    except LookupError:  # auth not migrated in this state
        return
    installed = {config.label for config in configs}
    for name, wanted in GROUPS.items():
        names = sorted({n for n in wanted if n.split(".", 1)[0] in installed})
        found = {f"{p.content_type.app_label}.{p.codename}": p for p in permission_model.objects.using(using)
                 .filter(content_type__app_label__in={n.split(".", 1)[0] for n in names},
                         codename__in={n.split(".", 1)[1] for n in names}).select_related("content_type")}
        missing = [n for n in names if n not in found]
        if missing:
            raise ImproperlyConfigured(f"group {name!r}: no permission {', '.join(missing)}")
        group, _ = group_model.objects.using(using).get_or_create(name=name)
        group.permissions.set([found[n] for n in names])
