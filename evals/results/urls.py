from django.urls import path

from evals.results import views as views_results
from evals.results import views_agreement, views_leaderboard

Q = "w/<slug:slug>/queues/<int:queue_id>/"

urlpatterns = [
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
    path(
        "w/<slug:slug>/queues/<int:queue_id>/leaderboard/",
        views_leaderboard.leaderboard,
        name="leaderboard",
    ),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/leaderboard.csv",
        views_leaderboard.leaderboard_csv,
        name="leaderboard-csv",
    ),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/leaderboard/recompute/",
        views_leaderboard.leaderboard_recompute,
        name="leaderboard-recompute",
    ),
    path(Q + "agreement/", views_agreement.agreement_page, name="queue-agreement"),
    path(
        Q + "agreement/compute/", views_agreement.agreement_compute, name="queue-agreement-compute"
    ),
    path(Q + "agreement.csv", views_agreement.agreement_csv, name="queue-agreement-csv"),
    path(Q + "reviewers/", views_agreement.reviewers_page, name="queue-reviewers"),
    path(
        Q + "reviewers/<int:user_id>/resume/",
        views_agreement.reviewer_resume,
        name="queue-reviewer-resume",
    ),
]
