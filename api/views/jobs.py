"""Jobs of the runner over the campaigns you may view: list, progress, and the files of a completed one."""
from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated

from annotation import access
from annotation.access import Action
from annotation.errors import ApplicationError
from annotation.models import Campaign
from jobs import selectors as job_selectors
from jobs.artifacts import FRAME_SUFFIX, JSON_SUFFIX, ArtifactStore
from jobs.models import Job

from .. import filters
from ..schema import ErrorSerializer
from ..serializers import JobSerializer

CONTENT_TYPES = {JSON_SUFFIX: "application/json", FRAME_SUFFIX: "application/vnd.apache.parquet"}


def job_context(jobs) -> dict:
    """The serializer context of `jobs`: the slug of the campaign each job's subject names."""
    ids = {job_selectors.subject_campaign_id(job.subject) for job in jobs} - {None}
    slugs = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "slug"))
    return {"campaign_slugs": {job_selectors.campaign_subject(pk): slug for pk, slug in slugs.items()}}


@extend_schema(tags=["jobs"])
class _JobsApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = JobSerializer

    def get_queryset(self):
        return job_selectors.jobs_visible(self.request.user).order_by("-id")


class JobListApi(_JobsApi, generics.ListAPIView):
    """Jobs (analyses, ingests, exports) over the campaigns you may view, newest first."""

    filterset_class = filters.JobFilter
    ordering_fields = ["id", "created_at", "finished_at", "version"]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **self._page_context}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._page_context = job_context(page if page is not None else queryset)
        return page


class JobDetailApi(_JobsApi, generics.RetrieveAPIView):
    """One job: status, stage, stages done of total, summary (an ingest counts its videos there), files."""

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        return {**context, **job_context([self.get_object()])}


class JobArtifactApi(_JobsApi):
    """A file of a completed job (JSON or Parquet), for those who may analyse the job's campaign."""

    @extend_schema(responses={
        (200, "application/json"): OpenApiResponse(OpenApiTypes.ANY, description="A JSON artifact."),
        (200, "application/vnd.apache.parquet"): OpenApiResponse(OpenApiTypes.BINARY, description="A Parquet artifact."),
        409: OpenApiResponse(ErrorSerializer, description="The job has not completed."),
    })
    def get(self, request, pk, name):
        job = self.get_object()
        campaign_id = job_selectors.subject_campaign_id(job.subject)
        if not access.is_superuser(request.user):
            campaign = Campaign.objects.get(pk=campaign_id)  # jobs_visible holds only jobs of visible campaigns
            reason = access.refusal(request.user, access.campaign_role(request.user, campaign), Action.ANALYSE)
            if reason is not None:
                raise ApplicationError("forbidden", reason, status=403)
        if job.status != Job.Status.COMPLETED:
            raise ApplicationError("job_not_finished", f"This job is {job.status}; its files can be downloaded once it completes.", status=409)
        store = ArtifactStore.for_job(job)
        if name not in store.names():
            raise ApplicationError("not_found", f"Job {job.pk} has no file {name!r}; it has: {', '.join(store.names()) or 'none'}.", status=404)
        suffix = name[name.rindex("."):]
        return FileResponse(open(store.folder / name, "rb"), as_attachment=True, filename=f"{job.kind}-v{job.version}-{name}",
                            content_type=CONTENT_TYPES[suffix])
