"""State changes of the model registry: registering a trained model folder, starting training and benchmark jobs, scoring an uploaded video."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from analysis.export import selectors as export_selectors
from annotation.errors import ApplicationError
from annotation.models import Campaign
from jobs import services as job_services
from jobs.models import Job
from jobs.selectors import campaign_subject, subject_campaign_id

from . import selectors
from .data.export import ExportData
from .job_stages import BENCHMARK, TRAIN, BenchmarkParameters, TrainParameters, frames_missing
from .methods.base import MethodUnavailable, method_make
from .models import TrainedModel
from .serving import MODEL_FILE, videos_predict


def model_register(*, folder: Path, export: ExportData, export_job: Job | None = None, campaign: Campaign | None = None,
                   user=None, job: Job | None = None) -> TrainedModel:
    """The registry row of the model saved in `folder` (created, or updated when its name is registered already).

    The campaign is `campaign`, else the export job's, else the campaign the export's manifest
    names when one with that id and slug exists here (an export from elsewhere has none).
    """
    folder = Path(folder)
    record = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    row = record["row"]
    if campaign is None and export_job is not None:
        campaign = Campaign.objects.filter(pk=subject_campaign_id(export_job.subject)).first()
    if campaign is None:
        named = export.manifest.get("campaign") or {}
        campaign = Campaign.objects.filter(pk=named.get("id"), slug=named.get("slug")).first() if named.get("id") else None
    fields = {
        "config": row["config"], "method": row["method"], "config_values": row.get("config_values", {}), "campaign": campaign,
        "export_job": export_job, "export_path": str(export.folder), "export_sha256": export.manifest_sha256, "split": row["split"],
        "seed": row.get("seed", 0), "metrics": row["metrics"], "weights_folder": str(folder), "weights_used": row.get("weights_used", []),
        "device": row.get("device", ""), "torch_version": row.get("torch") or "", "seconds": row.get("seconds", {}),
        "created_by": user if user is not None and getattr(user, "is_authenticated", False) else None, "job": job,
    }
    with transaction.atomic():
        model, _ = TrainedModel.objects.update_or_create(name=record["name"], defaults=fields)
    return model


def _config_check(config: str, overrides: dict) -> None:
    """A shipped configuration whose method can run here (a path to another JSON file is refused: the API takes names only)."""
    if not isinstance(config, str) or config not in selectors.configs_shipped():
        raise ApplicationError("unknown_method", f"No configuration named {config!r}. Known: {', '.join(selectors.configs_shipped()) or 'none'}.")
    try:
        reason = method_make(config, overrides).unavailable()
    except (TypeError, ValueError, KeyError) as exc:
        raise ApplicationError("bad_parameters", f"The configuration {config!r} with these overrides is not valid: {exc}.")
    if reason:
        raise MethodUnavailable(reason)


def _export_check(export_job: Job, splits) -> ExportData:
    export = ExportData.read(export_selectors.export_folder(export_job))
    count = export.split_count()
    outside = [k for k in splits if k >= count]
    if outside:
        raise ApplicationError("bad_split", f"The export has {count} split(s) (0 to {count - 1}); there is no split {outside[0]}.")
    if frames_missing(export) and not (export.folder / "videos").is_dir():
        raise ApplicationError("no_frames", "This export has no face crops and no videos to make them from: build an export with the videos.", status=409)
    return export


def _parameters(cls, data: dict):
    try:
        return cls.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ApplicationError("bad_parameters", f"The parameters are not valid: {exc}.")


def train_start(*, campaign: Campaign, export_version: int | None = None, config: str, split: int = 0, overrides: dict | None = None,
                device: str = "auto", seed: int = 0, name: str = "", user=None, enqueue=None) -> Job:
    """Queue a training job (kind "train", on the training queue) of `config` on split `split` of the campaign's export.

    Refused before anything is queued: no such export or one not completed, an unknown or
    unavailable configuration, a split the export lacks, crops that cannot be made, a taken name.
    """
    _config_check(config, overrides or {})
    export_job = selectors.export_job_for(campaign, export_version)
    params = _parameters(TrainParameters, {"export_job": export_job.pk, "config": config, "split": split, "overrides": overrides or {},
                                           "device": device, "seed": seed, "name": name})
    _export_check(export_job, [params.split])
    if params.name and TrainedModel.objects.filter(name=params.name).exists():
        raise ApplicationError("name_taken", f"A model named {params.name!r} exists already; choose another name.", status=409)
    return job_services.job_create(kind=TRAIN, subject=campaign_subject(campaign.pk), parameters=params.as_dict(), user=user, enqueue=enqueue)


def benchmark_start(*, campaign: Campaign, export_version: int | None = None, configs: list[str], splits: list[int] | None = None,
                    overrides: dict | None = None, device: str = "auto", seed: int = 0, explain: bool = True, user=None, enqueue=None) -> Job:
    """Queue a benchmark job (kind "benchmark", on the training queue): every configuration x split of the campaign's export.

    An unavailable configuration is not refused here: the benchmark reports it as unavailable.
    """
    unknown = [c for c in configs if c not in selectors.configs_shipped()]
    if unknown or not configs:
        raise ApplicationError("unknown_method", f"No configuration named {unknown[0] if unknown else ''!r}. "
                                                 f"Known: {', '.join(selectors.configs_shipped()) or 'none'}.")
    export_job = selectors.export_job_for(campaign, export_version)
    data = {"export_job": export_job.pk, "configs": configs, "overrides": overrides or {}, "device": device, "seed": seed, "explain": explain}
    if splits is not None:
        data["splits"] = splits
    params = _parameters(BenchmarkParameters, data)
    _export_check(export_job, params.splits)
    return job_services.job_create(kind=BENCHMARK, subject=campaign_subject(campaign.pk), parameters=params.as_dict(), user=user, enqueue=enqueue)


def model_predict(*, model: TrainedModel, upload: UploadedFile, device: str = "auto") -> dict:
    """Score an uploaded video with the model: the same checks as the ingest (size, probe), the same crops as the export.

    Returns {"video", "score", "frames", "faces_detected", ... and "explanation" when the method
    explains}. Refused with ApplicationError: too large (413), empty or not a usable video (400,
    the probe's code: not_video, corrupt, empty), a model whose files are gone (409).
    """
    limit = settings.PREDICT_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ApplicationError("too_large", f"The video is {upload.size:,} bytes; at most {limit:,} are accepted. Send a shorter or smaller clip.", status=413)
    if not upload.size:
        raise ApplicationError("empty", "The uploaded video is empty (0 bytes); send the whole file.")
    loaded = selectors.model_loaded(model)
    suffix = Path(upload.name or "").suffix.lower()
    suffix = suffix if suffix.isascii() and suffix[1:].isalnum() and len(suffix) <= 6 else ".video"
    with tempfile.TemporaryDirectory(prefix="dream-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with open(path, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        result = videos_predict(loaded, [path], names=[Path(upload.name or "video").name], device=device)[0]
    if "error" in result:
        raise ApplicationError(result["code"], result["error"])
    return result
