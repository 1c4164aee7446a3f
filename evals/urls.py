from django.urls import include, path

from . import views, views_agreement

Q = "w/<slug:slug>/queues/<int:queue_id>/"

urlpatterns = [
    path("w/<slug:slug>/jobs/<int:job_id>/", views.job_progress, name="job-progress"),
    path("", include("evals.urls_ingest")),
    path("", include("evals.urls_sampling")),
    path("", include("evals.urls_exports")),
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
