"""The researchers' import page (owners): upload videos with their metadata CSV, or import a server
folder the settings allow (INGEST_FOLDERS), each as an ingest job (analysis.ingest, the API's own)
followed on the page until it is done, then its errors listed per row; the campaign's videos below
with their role and poster."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotation.access import Action
from annotation.guards import campaign_page
from jobs import services as job_services
from jobs.pages import job_started

from . import ingest


@campaign_page(Action.CHANGE)
def videos_import(request, campaign):
    jobs = ingest.campaign_ingests(campaign)
    return render(request, "analysis/import.html", {
        "campaign": campaign,
        "ingests": [{"job": job, "progress": job_services.job_progress(job), "report": ingest.ingest_report(job)} for job in jobs],
        "busy": any(not job.is_finished for job in jobs),
        "roots": ingest.ingest_roots(),
        "max_bytes": settings.INGEST_UPLOAD_MAX_BYTES,
        # Django refuses a body with more files before any view runs (400): the page's script says so first.
        "max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES - 1,  # the CSV is a file too
        "videos": campaign.videos.order_by("role", "source_name", "id"),
    })


@campaign_page(Action.CHANGE)
@require_POST
def videos_upload(request, campaign):
    metadata, files = request.FILES.get("metadata"), request.FILES.getlist("files")
    if metadata is None or not files:
        messages.error(request, "Choose the metadata CSV and at least one video file, then press Import.")
    else:
        job_started(request, "Import", lambda: ingest.ingest_start(campaign=campaign, metadata=metadata, files=files, user=request.user))
    return redirect("analysis:videos_import", slug=campaign.slug)


@campaign_page(Action.CHANGE)
@require_POST
def videos_folder_import(request, campaign):
    folder, metadata = request.POST.get("folder", ""), request.FILES.get("metadata")
    job_started(request, "Import", lambda: ingest.ingest_folder_start(campaign=campaign, folder=folder, metadata=metadata, user=request.user))
    return redirect("analysis:videos_import", slug=campaign.slug)
