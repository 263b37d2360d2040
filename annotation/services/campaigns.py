"""Researchers' changes to a campaign: creating it (its creator becomes owner), editing, opening and closing,
its members, its videos' labels."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from ..errors import ApplicationError
from ..models import Campaign, CampaignMembership, ConsentText, Video

logger = logging.getLogger(__name__)

# The settings a researcher may set when creating or editing a campaign (the slug only at creation).
EDITABLE_FIELDS = (
    "title", "videos_per_session", "checkers_per_session", "checker_tolerance", "target_ratings_per_video",
    "min_reason_length", "sessions_per_annotator", "session_timeout_minutes", "lecture_text", "grade5_reason",
    "completion_code", "completion_redirect_url", "expected_minutes", "pay_text", "no_consent_code",
    "no_consent_redirect_url", "max_attempts", "screen_out_code", "screen_out_redirect_url", "language", "contact",
    "require_play_to_end",
)


def _checked(campaign: Campaign) -> None:
    if campaign.checkers_per_session >= campaign.videos_per_session:
        raise ApplicationError(
            "bad_campaign",
            f"A session of {campaign.videos_per_session} videos cannot hold {campaign.checkers_per_session} checkers; "
            "use fewer checkers than videos per session.",
        )


def _consent_add(campaign: Campaign, text: str) -> ConsentText | None:
    """A new consent version when `text` differs from the current one; None when it is the same."""
    current = campaign.consent_texts.order_by("-version").first()
    if current is not None and current.text == text:
        return None
    return ConsentText.objects.create(campaign=campaign, version=(current.version if current else 0) + 1, text=text)


@transaction.atomic
def campaign_create(*, slug: str, owner, consent_text: str = "", is_open: bool = True, **fields) -> Campaign:
    """Create a campaign with `owner` as its owner (and consent text v1 when given); returns it.

    Refused with ApplicationError("slug_taken", 409) when the slug is in use and ("bad_campaign")
    when its numbers cannot work together.
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError("bad_campaign", f"Unknown campaign settings: {', '.join(sorted(unknown))}.")
    campaign = Campaign(slug=slug, is_open=is_open, **fields)
    _checked(campaign)
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError:
        raise ApplicationError("slug_taken", f"The slug {slug!r} is taken; choose another.", status=409)
    CampaignMembership.objects.create(campaign=campaign, user=owner, role=CampaignMembership.Role.OWNER)
    if consent_text:
        _consent_add(campaign, consent_text)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, consent_text: str | None = None, **fields) -> Campaign:
    """Change the campaign's settings; a changed consent text becomes a new version (annotators keep
    the one they agreed to). Returns the campaign."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError("bad_campaign", f"These campaign settings cannot be changed: {', '.join(sorted(unknown))}.")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    for name, value in fields.items():
        setattr(campaign, name, value)
    _checked(campaign)
    campaign.save(update_fields=list(fields) or None)
    if consent_text:
        _consent_add(campaign, consent_text)
    return campaign


def campaign_open_set(*, campaigns: Iterable[Campaign], is_open: bool) -> int:
    """Open (or close) the campaigns; closed ones take no new annotators. Returns how many changed."""
    return Campaign.objects.filter(pk__in=[c.pk for c in campaigns]).exclude(is_open=is_open).update(is_open=is_open)


VIDEO_LABELS = ("identity_pair", "method", "is_real")


def videos_missing_unlist(*, campaigns: Iterable[Campaign]) -> list[Video]:
    """Take out of assignment the videos of `campaigns` whose MP4 or poster is missing from the media
    storage (deleted, a volume not mounted): their `file` and `poster` are cleared, so no new
    session is given them (the stores skip a video without a file) and the status page lists them
    to staff ("videos without a file"). Nothing is lost: the names are the campaign's key of the
    content (`media.stored_names`), which importing the file again restores. Returns the videos
    unlisted. Each is one UPDATE guarded by the name it had, so a concurrent import is not undone.

    Run by Celery beat (`annotation.tasks.videos_missing_unlist`) and by the status page.
    Two storage lookups per video (a local stat each: 10,000 videos take a fraction of a second)."""
    unlisted = []
    for video in Video.objects.filter(campaign__in=campaigns).exclude(file="").only("id", "file", "poster", "source_name"):
        if default_storage.exists(video.file.name) and video.poster.name and default_storage.exists(video.poster.name):
            continue
        if Video.objects.filter(pk=video.pk, file=video.file.name).update(file="", poster=""):
            logger.warning("video %s (%s): its file %s is missing from the media storage; no new session gets it",
                           video.pk, video.source_name, video.file.name)
            unlisted.append(video)
    return unlisted


@transaction.atomic
def video_labels_update(*, video: Video, **labels) -> Video:
    """Correct a video's descriptive labels (identity pair, method, real or fake); returns the video.

    Its role and gold score are not labels: they decide assignment and the checker rule, and come
    from the ingest's CSV only.
    """
    unknown = set(labels) - set(VIDEO_LABELS)
    if unknown:
        raise ApplicationError("bad_labels", f"These video fields cannot be changed here: {', '.join(sorted(unknown))}.")
    for name, value in labels.items():
        setattr(video, name, value)
    if labels:
        video.save(update_fields=list(labels))
    return video


@transaction.atomic
def membership_set(*, campaign: Campaign, user, role: str) -> CampaignMembership:
    """Give `user` the `role` in `campaign` (adding them, or changing their role); returns the membership.

    Refused ("last_owner", 409) when it would leave the campaign without an owner.
    """
    if role not in CampaignMembership.Role.values:
        raise ApplicationError("bad_role", f"Unknown role {role!r}; use one of {', '.join(CampaignMembership.Role.values)}.")
    members = CampaignMembership.objects.select_for_update().filter(campaign=campaign)
    current = {m.user_id: m for m in members}
    _owners_kept(current, user.pk, role)
    membership = current.get(user.pk)
    if membership is None:
        return CampaignMembership.objects.create(campaign=campaign, user=user, role=role)
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, campaign: Campaign, user) -> None:
    """Take `user` out of `campaign`; refused ("last_owner", 409) for its last owner."""
    members = CampaignMembership.objects.select_for_update().filter(campaign=campaign)
    current = {m.user_id: m for m in members}
    if user.pk not in current:
        raise ApplicationError("not_found", f"{user.get_username()} is not a member of this campaign.", status=404)
    _owners_kept(current, user.pk, None)
    current[user.pk].delete()


def _owners_kept(current: dict, user_id: int, new_role: str | None) -> None:
    owners = {uid for uid, m in current.items() if m.role == CampaignMembership.Role.OWNER}
    after = (owners - {user_id}) | ({user_id} if new_role == CampaignMembership.Role.OWNER else set())
    if owners and not after:
        raise ApplicationError("last_owner", "A campaign keeps at least one owner; make someone else owner first.", status=409)
