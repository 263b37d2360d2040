from django.urls import path

from . import views

app_name = "modeling"

urlpatterns = [
    path("staff/campaigns/<slug:slug>/models/", views.model_list, name="models"),
    path("staff/campaigns/<slug:slug>/models/train/", views.model_train, name="train"),
    path("staff/campaigns/<slug:slug>/models/benchmark/", views.model_benchmark, name="benchmark"),
    path("staff/campaigns/<slug:slug>/models/<int:pk>/", views.model_try, name="model"),
    path("staff/campaigns/<slug:slug>/models/benchmarks/<int:pk>/<str:name>", views.benchmark_file, name="benchmark_file"),
]
