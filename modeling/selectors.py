"""Reads of the model registry: the models a user may see, one model for an action, the shipped configurations, loaded models."""
from __future__ import annotations

import functools
from pathlib import Path

from django.db.models import QuerySet

from analysis.export import selectors as export_selectors
from annotation import access
from annotation.access import Action
from annotation.errors import ApplicationError
from annotation.models import Campaign
from jobs.models import Job
from jobs.selectors import campaign_subject

from .methods import base
from .models import TrainedModel
from .serving import MODEL_FILE, LoadedModel, model_load

JOB_KINDS = ("train", "benchmark")


def configs_shipped() -> list[str]:
    """The configuration names of modeling/configs/*.json (the only ones the API and the dashboard accept)."""
    return sorted(p.stem for p in base.CONFIG_DIR.glob("*.json"))


def models_visible(user) -> QuerySet[TrainedModel]:
    """Every model for a superuser; otherwise the models of the campaigns the user may view (a model
    trained on an export from elsewhere has no campaign: superusers only)."""
    models = TrainedModel.objects.select_related("campaign")
    if access.is_superuser(user):
        return models.all()
    return models.filter(campaign__in=access.campaigns_visible(user))


def model_for(user, pk: int, action: Action = Action.VIEW) -> TrainedModel:
    """Model `pk` if `user` may do `action` with its campaign: 404 when they may not see it, 403 (with the reason) when they may not act."""
    model = models_visible(user).filter(pk=pk).first()
    if model is None:
        raise ApplicationError("not_found", f"No model {pk} that you can see.", status=404)
    if model.campaign is not None and not access.is_superuser(user):
        reason = access.refusal(user, access.campaign_role(user, model.campaign), action)
        if reason is not None:
            raise ApplicationError("forbidden", reason, status=403)
    return model


def campaign_models(campaign: Campaign) -> QuerySet[TrainedModel]:
    return TrainedModel.objects.filter(campaign=campaign)


def campaign_model_jobs(campaign: Campaign, *, limit: int = 20) -> list[Job]:
    """The campaign's newest training and benchmark jobs, newest first."""
    return list(Job.objects.filter(kind__in=JOB_KINDS, subject=campaign_subject(campaign.pk)).order_by("-id")[:limit])


def export_job_for(campaign: Campaign, version: int | None = None) -> Job:
    """Export `version` of the campaign (its latest completed one when None); ApplicationError when there is none to train on."""
    if version is None:
        job = export_selectors.campaign_latest_export(campaign)
        if job is None:
            raise ApplicationError("not_found", f"Campaign {campaign.slug!r} has no completed dataset export yet; build one first.", status=404)
        return job
    job = export_selectors.campaign_export(campaign, version)
    if job is None:
        raise ApplicationError("not_found", f"Campaign {campaign.slug!r} has no export v{version}.", status=404)
    if job.status != Job.Status.COMPLETED:
        raise ApplicationError("export_not_ready", f"Export v{version} is {job.status}; train on it once it completes.", status=409)
    return job


def model_loaded(model: TrainedModel) -> LoadedModel:
    """The model's folder loaded (cached per process while its model.json is unchanged)."""
    folder = Path(model.weights_folder)
    try:
        stamp = (folder / MODEL_FILE).stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _loaded(str(folder), stamp)


@functools.lru_cache(maxsize=4)
def _loaded(folder: str, stamp: int) -> LoadedModel:
    return model_load(Path(folder))
