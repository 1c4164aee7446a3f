from django.urls import include, path

from . import views, views_agreement, views_gold, views_judges, views_leaderboard, views_results

Q = "w/<slug:slug>/queues/<int:queue_id>/"

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
    path("w/<slug:slug>/judges/", views_judges.judges, name="judges"),
    path(
        "w/<slug:slug>/judges/endpoints/new/", views_judges.endpoint_edit, name="judge-endpoint-new"
    ),
    path(
        "w/<slug:slug>/judges/endpoints/<int:endpoint_id>/",
        views_judges.endpoint_edit,
        name="judge-endpoint-edit",
    ),
    path(
        "w/<slug:slug>/judges/endpoints/<int:endpoint_id>/prompt/",
        views_judges.endpoint_prompt,
        name="judge-endpoint-prompt",
    ),
    path("w/<slug:slug>/judges/runs/", views_judges.run_start, name="judge-run-start"),
    path("w/<slug:slug>/judges/runs/<int:run_id>/", views_judges.run_detail, name="judge-run"),
    path(
        "w/<slug:slug>/judges/runs/<int:run_id>/cancel/",
        views_judges.run_cancel,
        name="judge-run-cancel",
    ),
    path(
        "w/<slug:slug>/judges/runs/<int:run_id>/results.csv",
        views_judges.run_results_csv,
        name="judge-run-csv",
    ),
    path(
        "w/<slug:slug>/judges/runs/<int:run_id>/compare/",
        views_judges.compare,
        name="judge-compare",
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
    path(Q + "gold/", views_gold.gold_items, name="gold-items"),
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
    path(Q + "adjudication/", views_agreement.adjudication_list, name="queue-adjudication"),
    path(
        Q + "adjudication/items/<int:item_id>/",
        views_agreement.adjudicate,
        name="queue-adjudicate",
    ),
    path(
        Q + "practice/<int:item_id>/",
        views_agreement.practice_submit,
        name="practice-submit",
    ),
]
