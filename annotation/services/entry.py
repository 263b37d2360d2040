"""Entering a campaign: the annotator a visit resumes, the row a consent creates, and demographics."""
from __future__ import annotations

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import rules, selectors, store
from ..models import Annotator, Campaign, ConsentText
from ..platforms import PLATFORMS, Identity


def annotator_enter(*, campaign: Campaign, identity: Identity | None, known_annotator_id: int | None) -> Annotator | None:
    """The annotator this visit resumes, or None for a new person: nothing is written before consent
    (`annotator_consent` creates the row), so opening the link creates no row, however often.

    An identity from a crowd platform or a login wins over the browser's cookie; without one the
    cookie's annotator resumes. A known crowd worker resumes in the browser they started in, or with
    their platform's own proof (`Platform.resumes`: the same Prolific SESSION_ID, the same MTurk
    assignment): a worker id alone, which others can learn, opens nobody's session. A new person is
    refused when the campaign is closed. A campaign that fails its launch checklist refuses everyone
    first (`rules.CAMPAIGN_NOT_READY`), before consent is asked (a ready answer is remembered a
    minute: `selectors.campaign_is_ready_cached`). Writes only a returning worker's newer platform ids.
    """
    if not selectors.campaign_is_ready_cached(campaign):
        raise rules.CAMPAIGN_NOT_READY.error()
    if identity is not None:
        annotator = _consented(campaign).filter(source=identity.source, external_id=identity.external_id).first()
        if annotator is not None:
            _resume(annotator, identity, same_browser=annotator.pk == known_annotator_id)
            return annotator
    elif known_annotator_id is not None:
        annotator = _consented(campaign).filter(pk=known_annotator_id).first()
        if annotator is not None:
            return annotator
    _require_open(campaign)
    return None


def annotator_consent(
    *, campaign: Campaign, identity: Identity, consent: ConsentText, entry_token: str, user=None, now: datetime | None = None
) -> Annotator:
    """The person of `identity` agreed to `consent`: their annotator row, created now and consented in
    one statement. `entry_token` is the random token their browser's session keeps since entry.

    The row of this identity may exist already: the same browser's second submission (a double
    click: the same `entry_token`) gets it; another browser needs the platform's proof, as on
    entry; a row that never consented (made before consent created rows) holds nothing of the
    person and is taken over (one transaction, under the row's lock). A lab identity must be the
    signed-in `user`; a closed or not ready campaign takes no consent.
    """
    if not selectors.campaign_is_ready_cached(campaign):
        raise rules.CAMPAIGN_NOT_READY.error()
    if consent.campaign_id != campaign.pk:
        raise rules.BAD_CONSENT.error()
    if identity.source == Annotator.Source.LAB and (user is None or str(user.pk) != identity.external_id):
        raise rules.IDENTITY_UNPROVEN.error()
    user = user if identity.source == Annotator.Source.LAB else None
    _require_open(campaign)
    now = now or timezone.now()
    # One INSERT ... ON CONFLICT DO NOTHING on PostgreSQL, atomic by itself: the usual case is one round trip.
    annotator = store.current().annotator_create(
        campaign, source=identity.source, external_id=identity.external_id, platform_params=identity.platform_params,
        user=user, consent=consent, entry_token=entry_token, now=now,
    )
    if annotator is not None:
        return annotator
    with transaction.atomic():
        annotator = Annotator.objects.select_for_update().filter(
            campaign=campaign, source=identity.source, external_id=identity.external_id).first()
        if annotator is None:  # deleted (withdrawn) in between
            raise rules.ANNOTATOR_NOT_CREATED.error()
        if annotator.consented_at is None:
            annotator.consent, annotator.consented_at, annotator.entry_token = consent, now, entry_token
            annotator.platform_params, annotator.user = identity.platform_params, user
            annotator.save(update_fields=["consent", "consented_at", "entry_token", "platform_params", "user"])
            return annotator
        same_browser = bool(entry_token) and secrets.compare_digest(annotator.entry_token, entry_token)
        _resume(annotator, identity, same_browser=same_browser)
        return annotator


def _consented(campaign: Campaign):
    """The campaign's annotators who consented: the only ones a visit resumes."""
    return Annotator.objects.filter(campaign=campaign, consented_at__isnull=False)


def _resume(annotator: Annotator, identity: Identity, *, same_browser: bool) -> None:
    """Let `identity` resume `annotator` if it comes from their browser or with their platform's
    proof (else IDENTITY_UNPROVEN's error); a new study session's ids are kept for the completion step."""
    if not same_browser and not PLATFORMS[identity.source].resumes(annotator.platform_params, identity.platform_params):
        raise rules.IDENTITY_UNPROVEN.error()
    if identity.platform_params and identity.platform_params != annotator.platform_params:
        annotator.platform_params = {**annotator.platform_params, **identity.platform_params}
        annotator.save(update_fields=["platform_params"])


def _require_open(campaign: Campaign) -> None:
    if not campaign.is_open:
        raise rules.CAMPAIGN_CLOSED.error()


@transaction.atomic
def demographics_save(
    *, annotator: Annotator, age_group: str, gender: str, education: str, prior_knowledge: str, now: datetime | None = None
) -> None:
    """Store the annotator's answers to the demographics form."""
    annotator.age_group = age_group
    annotator.gender = gender
    annotator.education = education
    annotator.prior_knowledge = prior_knowledge
    annotator.demographics_at = now or timezone.now()
    annotator.save(update_fields=["age_group", "gender", "education", "prior_knowledge", "demographics_at"])


