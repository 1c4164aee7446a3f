from django.urls import path

from . import views, views_leaderboard

urlpatterns = [
    path("w/<slug:slug>/jobs/<int:job_id>/", views.job_progress, name="job-progress"),
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
]
