from django.urls import path

from evals.judges import views as views_judges

urlpatterns = [
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
]
