from django.urls import path

from . import preview, views

app_name = "annotation"

urlpatterns = [
    path("c/<slug:slug>/", views.entry, name="entry"),
    path("c/<slug:slug>/consent/", views.consent, name="consent"),
    path("c/<slug:slug>/consent/decline/", views.consent_decline, name="consent_decline"),
    path("c/<slug:slug>/declined/", views.declined, name="declined"),
    path("c/<slug:slug>/screened-out/", views.screened_out, name="screened_out"),
    path("c/<slug:slug>/about-you/", views.demographics, name="demographics"),
    path("c/<slug:slug>/lecture/", views.lecture, name="lecture"),
    path("c/<slug:slug>/rate/", views.rate, name="rate"),
    path("c/<slug:slug>/api/ratings/", views.rating_submit_api, name="rating_submit_api"),
    path("c/<slug:slug>/api/plays/", views.play_event_api, name="play_event_api"),
    path("c/<slug:slug>/review/", views.review, name="review"),
    path("c/<slug:slug>/not-accepted/", views.disqualified, name="disqualified"),
    path("c/<slug:slug>/thank-you/", views.done, name="done"),
    path("c/<slug:slug>/closed/", views.closed, name="closed"),
    path("c/<slug:slug>/language/", views.language_choose, name="language"),
    path("c/<slug:slug>/preview/", preview.preview_start, name="preview_start"),
    path("c/<slug:slug>/preview/consent/", preview.preview_consent, name="preview_consent"),
    path("c/<slug:slug>/preview/lecture/", preview.preview_lecture, name="preview_lecture"),
    path("c/<slug:slug>/preview/rate/", preview.preview_rate, name="preview_rate"),
    path("c/<slug:slug>/preview/api/answers/", preview.preview_answer, name="preview_answer"),
    path("c/<slug:slug>/preview/review/", preview.preview_review, name="preview_review"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/campaigns/<slug:slug>/", views.campaign_status_page, name="campaign_status"),
    path("api/campaigns/<slug:slug>/status/", views.CampaignStatusApi.as_view(), name="campaign_status_api"),
]
