"""Videos: list with labels and rating counts, one video, its labels corrected, an upload through the ingest as a job."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from analysis.ingest import ingest_start
from annotation import selectors, services
from annotation.models import Video

from .. import filters
from ..schema import ErrorSerializer
from ..serializers import JobSerializer, VideoLabelsSerializer, VideoSerializer, VideoUploadSerializer
from .base import CampaignScopedApi, CampaignScopedDetailApi, CampaignScopedListApi
from .jobs import job_context


@extend_schema(tags=["videos"])
class VideoListApi(CampaignScopedListApi):
    """The campaign's videos: labels, role and gold score, media, qualified ratings."""

    serializer_class = VideoSerializer
    schema_model = Video
    filterset_class = filters.VideoFilter
    ordering_fields = ["id", "created_at", "method", "identity_pair", "qualified_ratings", "duration_s"]

    def campaign_queryset(self, campaign):
        return selectors.campaign_videos(campaign)


@extend_schema_view(get=extend_schema(summary="One video"), patch=extend_schema(summary="Correct a video's labels (owners)"))
@extend_schema(tags=["videos"])
class VideoDetailApi(CampaignScopedDetailApi):
    """One video; correct its identity pair, method or real/fake label (owners)."""

    serializer_class = VideoSerializer
    schema_model = Video

    def campaign_queryset(self, campaign):
        return selectors.campaign_videos(campaign)

    @extend_schema(request=VideoLabelsSerializer, responses=VideoSerializer)
    def patch(self, request, slug, pk):
        video = self.get_object()
        data = VideoLabelsSerializer(video, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.video_labels_update(video=video, **data.validated_data)
        return Response(self.get_serializer(self.get_object()).data)


@extend_schema(tags=["videos"])
class VideoUploadApi(CampaignScopedApi):
    """Upload video files with their metadata CSV (owners): imported by a job of kind "ingest",
    whose progress /api/v1/jobs/{id}/ shows and whose `report` artifact names each bad row; a file over
    INGEST_UPLOAD_MAX_BYTES is refused whole (413, naming it). The import page starts the same job."""

    parser_classes = [MultiPartParser]
    serializer_class = JobSerializer

    @extend_schema(request=VideoUploadSerializer, responses={
        202: JobSerializer, 413: OpenApiResponse(ErrorSerializer, description="A file is larger than INGEST_UPLOAD_MAX_BYTES."),
    })
    def post(self, request, slug):
        data = VideoUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = ingest_start(campaign=self.campaign, user=request.user, **data.validated_data)
        return Response(JobSerializer(job, context=job_context([job])).data, status=status.HTTP_202_ACCEPTED)
