from django.urls import path

from evals.ingest import views as views_ingest

urlpatterns = [
    path("w/<slug:slug>/logs/upload/", views_ingest.upload, name="ingest-upload"),
    path(
        "w/<slug:slug>/logs/upload/<int:job_id>/mapping/",
        views_ingest.mapping,
        name="ingest-mapping",
    ),
    path("w/<slug:slug>/logs/upload/<int:job_id>/", views_ingest.upload_job, name="ingest-job"),
    path("w/<slug:slug>/sources/", views_ingest.sources, name="sources"),
    path(
        "w/<slug:slug>/sources/<int:source_id>/redaction/",
        views_ingest.source_redaction,
        name="source-redaction",
    ),
]
