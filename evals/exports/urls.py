from django.urls import path

from evals.exports import views as views_exports
from evals.exports import views_imports

urlpatterns = [
    path("w/<slug:slug>/exports/", views_exports.exports_page, name="exports"),
    path("w/<slug:slug>/exports/<int:job_id>/", views_exports.export_detail, name="export-detail"),
    path(
        "w/<slug:slug>/exports/<int:job_id>/files/<str:name>",
        views_exports.export_download,
        name="export-download",
    ),
    path("w/<slug:slug>/exports/import/", views_imports.import_page, name="judgment-import"),
    path(
        "w/<slug:slug>/exports/import/<int:job_id>/",
        views_imports.import_job,
        name="judgment-import-job",
    ),
]
