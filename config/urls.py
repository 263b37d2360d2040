"""URL root: the annotator pages, the researchers' admin and pages, the REST API (/api/v1/), media with Range support."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from annotation.streaming import serve_media
from annotation.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    re_path(r"^media/(?P<path>.+)$", serve_media, name="media"),
    path("", include("annotation.urls")),
    path("", include("analysis.urls")),
    path("", include("modeling.urls")),
    path("api/v1/", include("api.urls")),
]

handler404 = "api.errors.page_not_found"
