"""Analysis runs of a campaign: list, start one (a job of kind "analysis"), one run with its results."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from analysis import selectors, services
from analysis.models import AnalysisRun
from annotation.access import Action
from annotation.errors import ApplicationError

from ..serializers import AnalysisRunDetailSerializer, AnalysisRunSerializer, AnalysisStartSerializer
from .base import CampaignScopedApi, CampaignScopedListApi


@extend_schema_view(get=extend_schema(summary="The campaign's analysis runs"), post=extend_schema(summary="Start an analysis (analysts, owners)"))
@extend_schema(tags=["analyses"])
class AnalysisListApi(CampaignScopedListApi):
    """The campaign's analysis runs, newest first; start a new one (analysts and owners)."""

    serializer_class = AnalysisRunSerializer
    schema_model = AnalysisRun
    campaign_actions = {"GET": Action.VIEW, "POST": Action.ANALYSE}
    filter_backends = []  # versions are the order; nothing to filter

    def campaign_queryset(self, campaign):
        return selectors.campaign_runs_query(campaign)

    @extend_schema(request=AnalysisStartSerializer, responses={202: AnalysisRunSerializer})
    def post(self, request, slug):
        data = AnalysisStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.analysis_run_start(
            campaign=self.campaign, trigger=AnalysisRun.Trigger.API, user=request.user, parameters=data.validated_data.get("parameters"),
        )
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["analyses"])
class AnalysisDetailApi(CampaignScopedApi):
    """One run by its version: status, parameters, inputs, seconds per stage, summary and results."""

    serializer_class = AnalysisRunDetailSerializer

    def get(self, request, slug, version):
        run = selectors.campaign_run(self.campaign, version)
        if run is None:
            raise ApplicationError("not_found", f"Campaign {slug!r} has no analysis v{version}.", status=404)
        run.stage_seconds = selectors.run_stage_seconds(run)
        run.results = selectors.run_results(run)
        return Response(self.get_serializer(run).data)
