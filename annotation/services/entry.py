"""Entering a campaign: finding or creating the annotator, consent and demographics."""
from __future__ import annotations

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import rules, selectors, store
from ..models import Annotator, Campaign, ConsentText
from ..platforms import PLATFORMS, Identity


def annotator_enter(*, campaign: Campaign, identity: Identity | None, known_annotator_id: int | None, user=None) -> Annotator:
    """Find or create the annotator for this visit.

    An identity from a crowd platform or a login wins over the browser's cookie; without one the
    cookie's annotator resumes, and a new open-link annotator is created only for a new browser.
    A known crowd worker resumes in the browser they started in, or with their platform's own proof
    (`Platform.resumes`: the same Prolific SESSION_ID, the same MTurk assignment): a worker id alone,
    which others can learn, opens nobody's session. Each branch writes at most one row, so no
    transaction is opened. A campaign that fails its launch checklist refuses everyone first
    (`rules.CAMPAIGN_NOT_READY`), before any row is written or consent is asked (a ready answer is
    remembered a minute: `selectors.campaign_is_ready_cached`).
    """
    if not selectors.campaign_is_ready_cached(campaign):
        raise rules.CAMPAIGN_NOT_READY.error()
    if identity is not None:
        user = user if identity.source == Annotator.Source.LAB else None
        if campaign.is_open:
            annotator = _annotator_create(campaign, identity, user)
            if annotator is not None:
                return annotator
        # A returning worker (or a second tab that created the row a moment ago): read it.
        annotator = Annotator.objects.filter(campaign=campaign, source=identity.source, external_id=identity.external_id).first()
        if annotator is None:
            _require_open(campaign)
            raise rules.ANNOTATOR_NOT_CREATED.error()
        same_browser = annotator.pk == known_annotator_id
        if not same_browser and not PLATFORMS[identity.source].resumes(annotator.platform_params, identity.platform_params):
            raise rules.IDENTITY_UNPROVEN.error()
        if identity.platform_params and identity.platform_params != annotator.platform_params:
            # A returning worker on a new study session: keep the latest ids for the completion step.
            annotator.platform_params = {**annotator.platform_params, **identity.platform_params}
            annotator.save(update_fields=["platform_params"])
        return annotator
    if known_annotator_id is not None:
        annotator = Annotator.objects.filter(pk=known_annotator_id, campaign=campaign).first()
        if annotator is not None:
            return annotator
    _require_open(campaign)
    return Annotator.objects.create(
        campaign=campaign, source=Annotator.Source.LINK, external_id=secrets.token_urlsafe(16)
    )


def _annotator_create(campaign: Campaign, identity: Identity, user) -> Annotator | None:
    """The annotator of `identity`, created now; None if the campaign has them already."""
    return store.current().annotator_create(
        campaign, source=identity.source, external_id=identity.external_id,
        platform_params=identity.platform_params, user=user,
    )


def _require_open(campaign: Campaign) -> None:
    if not campaign.is_open:
        raise rules.CAMPAIGN_CLOSED.error()


@transaction.atomic
def annotator_decline(*, annotator: Annotator) -> bool:
    """The person did not agree to the consent text: delete their record (it holds only their
    platform id, which they did not consent to our keeping). Returns whether a row was deleted;
    an annotator who already consented is kept (withdrawal is `annotator_withdraw`)."""
    deleted, _ = Annotator.objects.filter(pk=annotator.pk, consented_at__isnull=True).delete()
    return bool(deleted)


@transaction.atomic
def consent_give(*, annotator: Annotator, consent: ConsentText, now: datetime | None = None) -> None:
    """Record that the annotator agreed to this version of the consent text."""
    if consent.campaign_id != annotator.campaign_id:
        raise rules.BAD_CONSENT.error()
    annotator.consent = consent
    annotator.consented_at = now or timezone.now()
    annotator.save(update_fields=["consent", "consented_at"])


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


