from django.urls import path

from evals.sampling import views as views

urlpatterns = [
    path("w/<slug:slug>/sampling/", views.rules, name="sampling-rules"),
    path("w/<slug:slug>/sampling/new/", views.edit_rule, name="sampling-new"),
    path("w/<slug:slug>/sampling/<int:rule_id>/", views.rule_page, name="sampling-rule"),
    path("w/<slug:slug>/sampling/<int:rule_id>/edit/", views.edit_rule, name="sampling-edit"),
    path(
        "w/<slug:slug>/sampling/<int:rule_id>/preview/", views.rule_preview, name="sampling-preview"
    ),
    path("w/<slug:slug>/sampling/<int:rule_id>/run/", views.run_rule, name="sampling-run"),
    path(
        "w/<slug:slug>/sampling/<int:rule_id>/prescreen/",
        views.prescreen,
        name="sampling-prescreen",
    ),
]
