from django.urls import include, path

from . import views

urlpatterns = [
    path("w/<slug:slug>/jobs/<int:job_id>/", views.job_progress, name="job-progress"),
    path("", include("evals.urls_ingest")),
    path("", include("evals.urls_sampling")),
    path("", include("evals.urls_exports")),
]
