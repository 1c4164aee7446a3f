from django.urls import include, path

from . import views, views_results

urlpatterns = [
    path("w/<slug:slug>/jobs/<int:job_id>/", views.job_progress, name="job-progress"),
    path("", include("evals.urls_ingest")),
    path("", include("evals.urls_sampling")),
    path("", include("evals.urls_exports")),
    path("w/<slug:slug>/overview/", views_results.overview, name="overview"),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/results/",
        views_results.queue_results,
        name="queue-results",
    ),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/results/items/",
        views_results.result_items,
        name="result-items",
    ),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/alerts/",
        views_results.queue_alerts,
        name="queue-alerts",
    ),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/alerts/<int:rule_id>/delete/",
        views_results.alert_rule_delete,
        name="alert-rule-delete",
    ),
]
