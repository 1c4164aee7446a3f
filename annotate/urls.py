from django.urls import include, path

from annotate import views, views_audit, views_gold, views_pairwise, views_quality, views_tokens

Q = "w/<slug:slug>/queues/<int:queue_id>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("w/<slug:slug>/", views.workspace_home, name="workspace"),
    path("w/<slug:slug>/audit/", views_audit.audit_log, name="audit-log"),
    path("w/<slug:slug>/queues/<int:queue_id>/grade/", views.grade, name="grade"),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/assignments/<int:assignment_id>/submit/",
        views.submit,
        name="submit",
    ),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/assignments/<int:assignment_id>/skip/",
        views.skip,
        name="skip",
    ),
    path("", include("annotate.urls_setup")),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/pairs/<str:ticket>/submit/",
        views_pairwise.submit,
        name="pairwise-submit",
    ),
    path(
        "w/<slug:slug>/queues/<int:queue_id>/pairs/<str:ticket>/skip/",
        views_pairwise.skip,
        name="pairwise-skip",
    ),
    path("w/<slug:slug>/queues/<int:queue_id>/pairs/", views_pairwise.pairs, name="pairs"),
    path(Q + "gold/", views_gold.gold_items, name="gold-items"),
    path(Q + "adjudication/", views_quality.adjudication_list, name="queue-adjudication"),
    path(
        Q + "adjudication/items/<int:item_id>/",
        views_quality.adjudicate,
        name="queue-adjudicate",
    ),
    path(
        Q + "practice/<int:item_id>/",
        views_quality.practice_submit,
        name="practice-submit",
    ),
    path("w/<slug:slug>/api-tokens/", views_tokens.api_tokens, name="api-tokens"),
    path(
        "w/<slug:slug>/api-tokens/<int:token_id>/revoke/",
        views_tokens.api_token_revoke,
        name="api-token-revoke",
    ),
]
