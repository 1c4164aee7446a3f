from django.urls import include, path

from evals import views

urlpatterns = [
    path("w/<slug:slug>/jobs/<int:job_id>/", views.job_progress, name="job-progress"),
    path("", include("evals.ingest.urls")),
    path("", include("evals.sampling.urls")),
    path("", include("evals.exports.urls")),
    path("", include("evals.results.urls")),
    path("", include("evals.judges.urls")),
]
