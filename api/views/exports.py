"""Dataset exports of a campaign (analysis.export): list them, build one, download a file; and consent withdrawal."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from analysis.export import selectors as export_selectors, services as export_services
from analysis.export.downloads import export_download
from annotation import pseudonyms, services as annotation_services
from annotation.access import Action
from annotation.errors import ApplicationError
from jobs.models import Job

from ..schema import ErrorSerializer
from ..serializers import ExportStartSerializer, JobSerializer, WithdrawalSerializer
from .base import CampaignScopedApi
from .jobs import job_context


@extend_schema(tags=["exports"])
class ExportListApi(CampaignScopedApi):
    """The campaign's dataset exports, newest first; build a new one (analysts and owners). An export
    is a job of kind "export": /api/v1/jobs/{id}/ follows it, and its files are listed in its manifest."""

    serializer_class = JobSerializer
    schema_model = Job
    pagination_class = None  # a campaign keeps a few versions; the newest 100 are listed
    campaign_actions = {"GET": Action.ANALYSE, "POST": Action.ANALYSE}

    @extend_schema(responses={200: JobSerializer(many=True)})
    def get(self, request, slug):
        jobs = export_selectors.campaign_exports(self.campaign, limit=100)
        return Response(JobSerializer(jobs, many=True, context=job_context(jobs)).data)

    @extend_schema(request=ExportStartSerializer, responses={202: JobSerializer})
    def post(self, request, slug):
        data = ExportStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = export_services.export_start(campaign=self.campaign, parameters=dict(data.validated_data), user=request.user)
        job.refresh_from_db()  # without a broker its stages ran when job_create's transaction committed
        return Response(JobSerializer(job, context=job_context([job])).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["exports"])
class ExportFileApi(CampaignScopedApi):
    """A file of a completed export, by its path in the export's manifest (e.g. `videos.parquet`,
    `splits/0/train.csv`, `manifest.json`)."""

    campaign_actions = {"GET": Action.ANALYSE}

    @extend_schema(responses={
        (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
        302: OpenApiResponse(description="Under MEDIA_STORAGE=s3: a redirect to a short-lived signed URL of the file in the bucket."),
        404: OpenApiResponse(ErrorSerializer, description="No such export or file."),
    })
    def get(self, request, slug, version, path):
        job = export_selectors.campaign_export(self.campaign, version)
        if job is None or not export_selectors.export_file_listed(job, path):
            raise ApplicationError("not_found", f"Campaign {slug!r} has no completed export v{version} with a file {path!r}.", status=404)
        return export_download(job, path, filename=f"{slug}-export-v{version}-{path.replace('/', '-')}")


@extend_schema(tags=["annotators"])
class AnnotatorWithdrawApi(CampaignScopedApi):
    """Withdraw an annotator's consent (owners): their ratings, attempts, sessions and record are
    deleted; the answer is the withdrawal record, without personal data. Later analyses and exports
    leave them out; earlier analysis runs lose their per-annotator rows and earlier exports that may
    hold them their files (/staff/campaigns/{slug}/withdrawals/ lists both)."""

    serializer_class = WithdrawalSerializer
    campaign_actions = {"POST": Action.CHANGE}

    @extend_schema(request=None, responses={201: WithdrawalSerializer, 404: ErrorSerializer})
    def post(self, request, slug, annotator):
        found = next((a for a in self.campaign.annotators.only("pk", "campaign_id")
                      if pseudonyms.annotator_name(self.campaign.pk, a.pk) == annotator), None)
        if found is None:
            raise ApplicationError("not_found", f"Campaign {slug!r} has no annotator {annotator!r}.", status=404)
        withdrawal = annotation_services.annotator_withdraw(annotator=found, requested_by=request.user)
        return Response(WithdrawalSerializer(withdrawal).data, status=status.HTTP_201_CREATED)
