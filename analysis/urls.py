from django.urls import path

from . import ingest_views, views

app_name = "analysis"

urlpatterns = [
    path("staff/campaigns/<slug:slug>/analysis/", views.dashboard, name="dashboard"),
    path("staff/campaigns/<slug:slug>/monitor/", views.monitor, name="monitor"),
    path("staff/campaigns/<slug:slug>/analysis/run/", views.run_start, name="run_start"),
    path("staff/campaigns/<slug:slug>/exclusions/", views.exclusion, name="exclusion"),
    path("staff/campaigns/<slug:slug>/annotators/", views.annotators, name="annotators"),
    path("staff/campaigns/<slug:slug>/annotators/<str:ref>/", views.annotator, name="annotator"),
    path("staff/campaigns/<slug:slug>/videos/<int:video_id>/", views.video, name="video"),
    path("staff/campaigns/<slug:slug>/approvals.csv", views.approvals_csv, name="approvals_csv"),
    path("staff/campaigns/<slug:slug>/withdrawals/", views.withdrawals, name="withdrawals"),
    path("staff/campaigns/<slug:slug>/charts/<slug:name>.csv", views.chart_csv, name="chart_csv"),
    path("staff/campaigns/<slug:slug>/export/<slug:what>.csv", views.export, name="export"),
    path("staff/campaigns/<slug:slug>/exports/", views.dataset_exports, name="dataset_exports"),
    path("staff/campaigns/<slug:slug>/exports/build/", views.dataset_export_build, name="dataset_export_build"),
    path("staff/campaigns/<slug:slug>/exports/v<int:version>/<path:path>", views.dataset_export_file, name="dataset_export_file"),
    path("staff/campaigns/<slug:slug>/videos/import/", ingest_views.videos_import, name="videos_import"),
    path("staff/campaigns/<slug:slug>/videos/import/upload/", ingest_views.videos_upload, name="videos_upload"),
    path("staff/campaigns/<slug:slug>/videos/import/folder/", ingest_views.videos_folder_import, name="videos_folder_import"),
    path("api/campaigns/<slug:slug>/analysis/", views.RunStatusApi.as_view(), name="run_status_api"),
]
