"""Setup pages: rubrics, queues, people, and invitation links."""

from django.urls import path

from annotate import views_people, views_queues, views_rubrics

R = "w/<slug:slug>/rubrics/"
V = R + "<int:rubric_id>/versions/<int:number>/"
C = V + "criteria/<int:criterion_id>/"
Q = "w/<slug:slug>/queues/"
P = "w/<slug:slug>/people/"

urlpatterns = [
    path(R, views_rubrics.rubric_list, name="rubric-list"),
    path(R + "new/", views_rubrics.rubric_create, name="rubric-create"),
    path(R + "<int:rubric_id>/", views_rubrics.rubric_detail, name="rubric-detail"),
    path(R + "<int:rubric_id>/edit/", views_rubrics.rubric_new_draft, name="rubric-new-draft"),
    path(R + "<int:rubric_id>/clone/", views_rubrics.rubric_clone, name="rubric-clone"),
    path(R + "<int:rubric_id>/archive/", views_rubrics.rubric_archive, name="rubric-archive"),
    path(R + "<int:rubric_id>/delete/", views_rubrics.rubric_delete, name="rubric-delete"),
    path(R + "<int:rubric_id>/diff/", views_rubrics.rubric_diff, name="rubric-diff"),
    path(V, views_rubrics.rubric_version, name="rubric-version"),
    path(V + "details/", views_rubrics.rubric_details, name="rubric-details"),
    path(V + "preview/", views_rubrics.rubric_preview, name="rubric-preview"),
    path(V + "publish/", views_rubrics.rubric_publish, name="rubric-publish"),
    path(V + "discard/", views_rubrics.rubric_discard, name="rubric-discard"),
    path(V + "criteria/add/", views_rubrics.criterion_add, name="criterion-add"),
    path(C, views_rubrics.criterion_save, name="criterion-save"),
    path(C + "preview/", views_rubrics.criterion_preview, name="criterion-preview"),
    path(C + "move/", views_rubrics.criterion_move, name="criterion-move"),
    path(C + "duplicate/", views_rubrics.criterion_duplicate, name="criterion-duplicate"),
    path(C + "delete/", views_rubrics.criterion_delete, name="criterion-delete"),
    path(Q + "new/", views_queues.queue_create, name="queue-create"),
    path(
        Q + "instructions-preview/",
        views_queues.instructions_preview,
        name="queue-instructions-preview",
    ),
    path(Q + "<int:queue_id>/", views_queues.queue_detail, name="queue-detail"),
    path(Q + "<int:queue_id>/edit/", views_queues.queue_edit, name="queue-edit"),
    path(Q + "<int:queue_id>/status/", views_queues.queue_status, name="queue-status"),
    path(Q + "<int:queue_id>/progress/", views_queues.queue_progress, name="queue-progress"),
    path(Q + "<int:queue_id>/items/", views_queues.queue_add_item, name="queue-add-item"),
    path(P, views_people.people_page, name="people"),
    path(P + "members/<int:member_id>/", views_people.member_update, name="member-update"),
    path(P + "members/<int:member_id>/remove/", views_people.member_remove, name="member-remove"),
    path(P + "cohorts/", views_people.cohort_create, name="cohort-create"),
    path(P + "invitations/", views_people.invitation_create, name="invitation-create"),
    path(
        P + "invitations/<int:invitation_id>/revoke/",
        views_people.invitation_revoke,
        name="invitation-revoke",
    ),
    path("invite/<str:token>/", views_people.invite_accept, name="invite-accept"),
]
