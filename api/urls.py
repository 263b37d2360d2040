"""/api/v1/: the REST API, its OpenAPI schema, Swagger UI and ReDoc (served from local static files)."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from .docs import RedocView, SwaggerView
from .views import analyses, campaigns, exports, jobs, models, records, videos

app_name = "api"

CAMPAIGN = "campaigns/<slug:slug>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", RedocView.as_view(url_name="api:schema"), name="redoc"),
    path("campaigns/", campaigns.CampaignListCreateApi.as_view(), name="campaigns"),
    path(CAMPAIGN, campaigns.CampaignDetailApi.as_view(), name="campaign"),
    path(CAMPAIGN + "open/", campaigns.CampaignOpenApi.as_view(), name="campaign_open"),
    path(CAMPAIGN + "close/", campaigns.CampaignCloseApi.as_view(), name="campaign_close"),
    path(CAMPAIGN + "status/", campaigns.CampaignStatusApi.as_view(), name="campaign_status"),
    path(CAMPAIGN + "members/", campaigns.CampaignMemberListApi.as_view(), name="members"),
    path(CAMPAIGN + "members/<str:username>/", campaigns.CampaignMemberDetailApi.as_view(), name="member"),
    path(CAMPAIGN + "videos/", videos.VideoListApi.as_view(), name="videos"),
    path(CAMPAIGN + "videos/upload/", videos.VideoUploadApi.as_view(), name="videos_upload"),
    path(CAMPAIGN + "videos/<int:pk>/", videos.VideoDetailApi.as_view(), name="video"),
    path(CAMPAIGN + "annotators/", records.AnnotatorListApi.as_view(), name="annotators"),
    path(CAMPAIGN + "sessions/", records.SessionListApi.as_view(), name="sessions"),
    path(CAMPAIGN + "sessions/<int:pk>/", records.SessionDetailApi.as_view(), name="session"),
    path(CAMPAIGN + "attempts/", records.AttemptListApi.as_view(), name="attempts"),
    path(CAMPAIGN + "ratings/", records.RatingListApi.as_view(), name="ratings"),
    path(CAMPAIGN + "analyses/", analyses.AnalysisListApi.as_view(), name="analyses"),
    path(CAMPAIGN + "analyses/<int:version>/", analyses.AnalysisDetailApi.as_view(), name="analysis"),
    path(CAMPAIGN + "annotators/<str:annotator>/withdraw/", exports.AnnotatorWithdrawApi.as_view(), name="annotator_withdraw"),
    path(CAMPAIGN + "exports/", exports.ExportListApi.as_view(), name="exports"),
    path(CAMPAIGN + "exports/<int:version>/files/<path:path>", exports.ExportFileApi.as_view(), name="export_file"),
    path("jobs/", jobs.JobListApi.as_view(), name="jobs"),
    path("jobs/<int:pk>/", jobs.JobDetailApi.as_view(), name="job"),
    path("jobs/<int:pk>/artifacts/<str:name>", jobs.JobArtifactApi.as_view(), name="job_artifact"),
    path("models/", models.ModelListApi.as_view(), name="models"),
    path("models/train", models.ModelTrainApi.as_view(), name="models_train"),
    path("models/benchmark", models.ModelBenchmarkApi.as_view(), name="models_benchmark"),
    path("models/<int:pk>/", models.ModelDetailApi.as_view(), name="model"),
    path("models/<int:pk>/predict", models.ModelPredictApi.as_view(), name="model_predict"),
]
