"""Researchers' pages of the model registry, under a campaign: its models and training jobs, starting a training or a
benchmark (analysts and owners), and trying a model on an uploaded video (annotation.access: view to look, analyse to act)."""
from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analysis.export import selectors as export_selectors
from annotation.access import Action
from annotation.errors import ApplicationError
from annotation.guards import campaign_page
from jobs.artifacts import ArtifactStore
from jobs.models import Job
from jobs.selectors import campaign_subject
from jobs.pages import job_started
from jobs.services import job_progress

from . import selectors, services
from .job_stages import MAX_SPLITS
from .protocol import splits_parse


@campaign_page(Action.VIEW)
def model_list(request, campaign):
    jobs = selectors.campaign_model_jobs(campaign)
    exports = [job for job in export_selectors.campaign_exports(campaign, limit=20) if job.status == job.Status.COMPLETED]
    return render(request, "modeling/models.html", {
        "campaign": campaign,
        "models": selectors.campaign_models(campaign).select_related("created_by", "export_job"),
        "jobs": [{"job": job, "progress": job_progress(job), "live": (job.summary or {}).get("progress")} for job in jobs],
        "busy": any(not job.is_finished for job in jobs),
        "exports": exports,
        "configs": selectors.configs_shipped(),
    })


def _export_version(request) -> int | None:
    value = request.POST.get("export_version", "").strip()
    return int(value) if value.isdigit() else None


@campaign_page(Action.ANALYSE)
@require_POST
def model_train(request, campaign):
    split = request.POST.get("split", "0").strip()
    job_started(request, "Training", lambda: services.train_start(
        campaign=campaign, export_version=_export_version(request), config=request.POST.get("config", ""),
        split=int(split) if split.isdigit() else split, device=request.POST.get("device", "auto"), user=request.user))
    return redirect("modeling:models", slug=campaign.slug)


@campaign_page(Action.ANALYSE)
@require_POST
def model_benchmark(request, campaign):
    job_started(request, "Benchmark", lambda: services.benchmark_start(
        campaign=campaign, export_version=_export_version(request), configs=request.POST.getlist("configs"),
        splits=splits_parse(request.POST.get("splits", "0-9"))[:MAX_SPLITS], device=request.POST.get("device", "auto"),
        user=request.user))
    return redirect("modeling:models", slug=campaign.slug)


@campaign_page(Action.ANALYSE)
def model_try(request, campaign, pk):
    """A model's record, and a form to score an uploaded video with it (the answer shown on the page)."""
    model = selectors.campaign_models(campaign).filter(pk=pk).select_related("created_by", "export_job").first()
    if model is None:
        raise Http404("No such model in this campaign")
    result = error = None
    if request.method == "POST":
        upload = request.FILES.get("video")
        try:
            if upload is None:
                raise ApplicationError("no_video", "Choose a video file to score.")
            result = services.model_predict(model=model, upload=upload)
        except ApplicationError as exc:
            error = exc.message
    return render(request, "modeling/model.html", {"campaign": campaign, "model": model, "result": result, "error": error,
                                                   "top_categories": _top_categories(result)})


def _top_categories(result: dict | None, n: int = 8) -> list[tuple[str, float]]:
    categories = ((result or {}).get("explanation") or {}).get("categories") or {}
    ranked = sorted(((name, share) for name, share in categories.items() if share), key=lambda item: -item[1])
    return ranked[:n]


REPORT_FILES = {"table2.csv": "text/csv", "table2.md": "text/markdown", "table5.csv": "text/csv", "table5.md": "text/markdown",
                "benchmark.json": "application/json"}


@campaign_page(Action.ANALYSE)
def benchmark_file(request, campaign, pk, name):
    """A report file of a completed benchmark job of the campaign (Table II / V as CSV or Markdown, benchmark.json)."""
    job = Job.objects.filter(pk=pk, kind="benchmark", subject=campaign_subject(campaign.pk), status=Job.Status.COMPLETED).first()
    path = ArtifactStore.for_job(job).folder / name if job is not None and name in REPORT_FILES else None
    if path is None or not path.is_file():
        raise Http404("No such report file")
    return FileResponse(open(path, "rb"), as_attachment=True, content_type=REPORT_FILES[name],
                        filename=f"{campaign.slug}-benchmark-v{job.version}-{name}")
