"""Trained models (modeling): the registry, scoring an uploaded video, and starting training and benchmark jobs."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotation import access
from annotation.access import Action
from modeling import selectors, services

from .. import filters
from ..schema import ErrorSerializer
from ..serializers import (
    JobSerializer,
    ModelBenchmarkSerializer,
    ModelPredictionSerializer,
    ModelPredictSerializer,
    ModelTrainSerializer,
    TrainedModelSerializer,
)
from .jobs import job_context


@extend_schema(tags=["models"])
class _ModelsApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = TrainedModelSerializer

    def get_queryset(self):
        return selectors.models_visible(self.request.user).select_related("created_by", "export_job").order_by("-id")


class ModelListApi(_ModelsApi, generics.ListAPIView):
    """Trained models of the campaigns you may view, newest first: configuration, export, split, metrics, pretrained weights."""

    filterset_class = filters.TrainedModelFilter
    ordering_fields = ["id", "created_at", "config", "split"]


class ModelDetailApi(_ModelsApi, generics.RetrieveAPIView):
    """One trained model."""


@extend_schema(tags=["models"])
class ModelPredictApi(generics.GenericAPIView):
    """Score an uploaded video with a model (analysts and owners of its campaign): the video is probed as the ingest
    does and cropped around the face as the model's export was; the answer is the predicted MOS and, when the
    method explains, the top-K training videos with their reasons and the 37-share category vector."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]
    serializer_class = ModelPredictionSerializer

    @extend_schema(request=ModelPredictSerializer, responses={
        200: ModelPredictionSerializer,
        409: OpenApiResponse(ErrorSerializer, description="The model's files are missing, or its method is not installed here."),
        413: OpenApiResponse(ErrorSerializer, description="The video is larger than PREDICT_UPLOAD_MAX_BYTES."),
    })
    def post(self, request, pk):
        model = selectors.model_for(request.user, pk, Action.ANALYSE)
        data = ModelPredictSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.model_predict(model=model, upload=data.validated_data["video"])
        return Response(ModelPredictionSerializer(result).data)


@extend_schema(tags=["models"])
class ModelTrainApi(generics.GenericAPIView):
    """Train a configuration on one split of a campaign's export (analysts and owners): a job of kind "train" on the
    training queue, followed at /api/v1/jobs/{id}/ (its summary shows the live progress, then the model's id)."""

    permission_classes = [IsAuthenticated]
    serializer_class = JobSerializer

    @extend_schema(request=ModelTrainSerializer, responses={
        202: JobSerializer, 409: OpenApiResponse(ErrorSerializer, description="The export is not complete, has no crops or videos, "
                                                                           "the method is unavailable here, or the name is taken."),
    })
    def post(self, request):
        data = ModelTrainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        campaign = access.campaign_for(request.user, fields.pop("campaign"), Action.ANALYSE)
        job = services.train_start(campaign=campaign, user=request.user, **fields)
        job.refresh_from_db()  # without a broker its stages ran when the job was committed
        return Response(JobSerializer(job, context=job_context([job])).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["models"])
class ModelBenchmarkApi(generics.GenericAPIView):
    """Benchmark configurations over splits of a campaign's export (analysts and owners): a job of kind "benchmark" on
    the training queue; its `table2` artifact is the paper's Table II (mean ± std over splits)."""

    permission_classes = [IsAuthenticated]
    serializer_class = JobSerializer

    @extend_schema(request=ModelBenchmarkSerializer, responses={
        202: JobSerializer, 409: OpenApiResponse(ErrorSerializer, description="The export is not complete, or has no crops or videos."),
    })
    def post(self, request):
        data = ModelBenchmarkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        campaign = access.campaign_for(request.user, fields.pop("campaign"), Action.ANALYSE)
        job = services.benchmark_start(campaign=campaign, user=request.user, **fields)
        job.refresh_from_db()
        return Response(JobSerializer(job, context=job_context([job])).data, status=status.HTTP_202_ACCEPTED)
