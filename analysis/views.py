"""Researchers' dashboards, one video's page, chart data as CSV, dataset exports (CSV downloads and versioned export jobs),
withdrawals and the run-status API, each guarded by the member's role in the campaign
(annotation.access: view for pages and chart data, analyse for runs, exclusions, exports and withdrawals)."""
from __future__ import annotations

import csv

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import csvsafe
from annotation.access import Action
from annotation.errors import ApplicationError
from annotation.guards import CampaignAccess, campaign_page
from jobs.pages import job_started
from annotation import pseudonyms
from annotation import selectors as annotation_selectors

from . import approvals, exports, selectors, services
from .export import selectors as export_selectors
from .export.downloads import export_download
from .export import services as export_services
from .figures import CHARTS, CHARTS_BY_NAME, figure_json


def _charts(ctx, source: str) -> list[dict]:
    charts = []
    for chart in CHARTS:
        if chart.source == source:
            figure = chart.build(ctx)[0]
            charts.append({"name": chart.name, "title": chart.title, "wide": chart.wide, "json": figure_json(figure),
                           "clickable": any(trace.meta in ("video", "annotator") for trace in figure.data)})
    return charts


@campaign_page(Action.VIEW)
def dashboard(request, campaign):
    run, ctx = selectors.chart_context(campaign, monitor=False)
    latest = selectors.campaign_latest_run(campaign, completed=False)
    return render(request, "analysis/dashboard.html", {
        "campaign": campaign,
        "run": run,
        "latest": latest,
        "progress": services.run_progress(latest) if latest else None,
        "runs": selectors.campaign_runs(campaign),
        "charts": _charts(ctx, "run"),
        "stage_seconds": selectors.run_stage_seconds(run) if run else {},
        "kruskal": (run.summary or {}).get("kruskal", {}) if run else {},
    })


@campaign_page(Action.VIEW)
def monitor(request, campaign):
    run, ctx = selectors.chart_context(campaign, monitor=True)
    flagged = ctx.results.get("reasons", {}).get("flagged", {})
    rows = [dict(zip(flagged, values)) for values in zip(*flagged.values())][:200] if flagged else []
    return render(request, "analysis/monitor.html", {
        "campaign": campaign,
        "run": run,
        "charts": _charts(ctx, "monitor"),
        "flagged": rows,
        "exclusions": campaign.exclusions.select_related("annotator").order_by("-created_at"),
    })


@campaign_page(Action.ANALYSE)
@require_POST
def run_start(request, campaign):
    job_started(request, "Analysis", lambda: services.analysis_run_start(campaign=campaign, user=request.user))
    return redirect("analysis:dashboard", slug=campaign.slug)


@campaign_page(Action.ANALYSE)
@require_POST
def exclusion(request, campaign):
    """Exclude or include again the annotator named by internal or platform id; back to the page named by `next`."""
    back = redirect("analysis:monitor", slug=campaign.slug)
    try:
        annotator = annotation_selectors.annotator_by_ref(campaign, request.POST.get("annotator", ""))
    except ApplicationError as error:
        messages.error(request, error.message)
        return back
    if request.POST.get("next") == "annotator":
        back = redirect("analysis:annotator", slug=campaign.slug, ref=annotator.pk)
    if request.POST.get("action") == "include":
        services.exclusion_remove(campaign=campaign, annotator=annotator)
        messages.success(request, f"Annotator {annotator.pk} is included again; rerun the analysis to update the numbers.")
    else:
        services.exclusion_add(campaign=campaign, annotator=annotator, user=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, f"Annotator {annotator.pk} is excluded; rerun the analysis to update the numbers.")
    return back


@campaign_page(Action.VIEW)
def annotators(request, campaign):
    """Find an annotator by internal or platform id (the `q` parameter): their page, or the form again with why not."""
    ref = request.GET.get("q", "").strip()
    if ref:
        try:
            annotator = annotation_selectors.annotator_by_ref(campaign, ref)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            return redirect("analysis:annotator", slug=campaign.slug, ref=annotator.pk)
    return render(request, "analysis/annotators.html", {"campaign": campaign, "q": ref})


@campaign_page(Action.VIEW)
def annotator(request, campaign, ref):
    """One annotator: platform ids, sessions, attempts with missed checkers, ratings with time, reasons and playback."""
    try:
        person = annotation_selectors.annotator_by_ref(campaign, ref)
    except ApplicationError as error:
        raise Http404(error.message)
    return render(request, "analysis/annotator.html", {
        "campaign": campaign,
        "person": person,
        "pseudonym": pseudonyms.annotator_name(campaign.pk, person.pk),
        "sessions": annotation_selectors.annotator_record(person),
        "median_seconds": annotation_selectors.annotator_median_seconds(person),
        "exclusion": selectors.annotator_exclusion(campaign, person),
    })


@campaign_page(Action.VIEW)
def video(request, campaign, video_id):
    """One video: playable, with its labels, its live MOS and every rating with its reason (charts link here)."""
    record = selectors.video_record(campaign, video_id)
    if record is None:
        raise Http404("No such video in this campaign")
    return render(request, "analysis/video.html", {"campaign": campaign, "record": record, "video": record.video})


@campaign_page(Action.ANALYSE)
def approvals_csv(request, campaign):
    """The approval list of `platform` (prolific or mturk) as CSV for the platform's bulk upload."""
    platform = request.GET.get("platform", "prolific")
    try:
        header, rows = approvals.approvals_table(campaign, platform)
    except ApplicationError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain")
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(_stream(writer, header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{campaign.slug}-approvals-{platform}.csv"'
    return response


@campaign_page(Action.ANALYSE)
def withdrawals(request, campaign):
    """The campaign's consent withdrawals (no personal data) and the exports each one affects."""
    return render(request, "analysis/withdrawals.html", {
        "campaign": campaign, "withdrawals": selectors.campaign_withdrawals(campaign),
    })


@campaign_page(Action.VIEW)
def chart_csv(request, campaign, name):
    chart = CHARTS_BY_NAME.get(name)
    if chart is None:
        raise Http404("No such chart")
    _, ctx = selectors.chart_context(campaign, monitor=chart.source == "monitor")
    _, table = chart.build(ctx)
    response = HttpResponse(csvsafe.frame(table).to_csv(index=False), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{campaign.slug}-{name}.csv"'
    return response


class _Echo:
    def write(self, value):
        return value


@campaign_page(Action.ANALYSE)
def export(request, campaign, what):
    if what not in exports.EXPORTS:
        raise Http404("No such export")
    # Crowd ids identify people: only the campaign's owners (Action.CHANGE) get them in an export.
    header, rows = exports.EXPORTS[what](campaign, platform_ids=Action.CHANGE in campaign.allowed_actions)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(_stream(writer, header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{campaign.slug}-{what}.csv"'
    return response


def _stream(writer, header, rows):
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(csvsafe.row(row))


# --- Versioned dataset exports (analysis.export): start one, list them, download their files ----


@campaign_page(Action.ANALYSE)
def dataset_exports(request, campaign):
    jobs = export_selectors.campaign_exports(campaign)
    return render(request, "analysis/exports.html", {
        "campaign": campaign,
        "exports": [{"job": job, "progress": export_services.export_progress(job), "files": export_selectors.export_files(job)}
                    for job in jobs],
        "busy": any(not job.is_finished for job in jobs),
    })


@campaign_page(Action.ANALYSE)
@require_POST
def dataset_export_build(request, campaign):
    splits = request.POST.get("splits", "10").strip() or "10"
    parameters = {"include": "all" if request.POST.get("all_attempts") else "qualified",
                  "with_videos": bool(request.POST.get("with_videos")), "splits": int(splits) if splits.isdigit() else splits}
    job_started(request, "Dataset export", lambda: export_services.export_start(campaign=campaign, parameters=parameters, user=request.user))
    return redirect("analysis:dataset_exports", slug=campaign.slug)


@campaign_page(Action.ANALYSE)
def dataset_export_file(request, campaign, version, path):
    job = export_selectors.campaign_export(campaign, version)
    return export_download(job, path, filename=f"{campaign.slug}-export-v{version}-{path.replace('/', '-')}")


class RunStatusApi(APIView):
    """The latest run of a campaign and how far it got (the dashboard polls this)."""

    permission_classes = [CampaignAccess]

    def get(self, request, slug):
        latest = selectors.campaign_latest_run(self.campaign, completed=False)
        return Response(services.run_progress(latest) if latest else {"status": "none"})
