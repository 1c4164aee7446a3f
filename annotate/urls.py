from django.urls import include, path

from . import views, views_audit

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
]
