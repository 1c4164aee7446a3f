from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from annotate import models
from annotate.rubrics import publish


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0


@admin.register(models.Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(models.Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace"]
    list_filter = ["workspace"]
    filter_horizontal = ["members"]


class CriterionInline(admin.StackedInline):
    model = models.Criterion
    extra = 0


@admin.register(models.Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "archived_at"]
    list_filter = ["workspace"]


@admin.register(models.RubricVersion)
class RubricVersionAdmin(admin.ModelAdmin):
    list_display = ["rubric", "number", "status", "published_at"]
    inlines = [CriterionInline]
    actions = ["publish_versions"]

    @admin.action(description="Publish the selected draft versions")
    def publish_versions(self, request, queryset) -> None:
        for version in queryset:
            try:
                publish(version)
            except ValidationError as exc:
                self.message_user(request, f"{version}: {exc.messages[0]}", messages.ERROR)
            else:
                self.message_user(request, f"{version} published.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_published


@admin.register(models.Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "kind", "judgments_per_item", "status"]
    list_filter = ["workspace", "kind", "status"]
    filter_horizontal = ["cohorts"]
    readonly_fields = ["items_total", "items_complete"]


@admin.register(models.Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ["id", "queue", "item", "reviewer", "created_at", "revision"]
    list_filter = ["queue"]
    readonly_fields = [f.name for f in models.Judgment._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.SwapCheck)
class SwapCheckAdmin(admin.ModelAdmin):
    list_display = ["id", "queue", "item", "reviewer", "state", "preference", "created_at"]
    list_filter = ["queue", "state"]
    readonly_fields = [f.name for f in models.SwapCheck._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


# Gold, calibration and adjudication rows (app label evals, see annotate.models.quality).
@admin.register(models.Adjudication)
class AdjudicationAdmin(admin.ModelAdmin):
    list_display = ["item", "queue", "adjudicator", "updated_at"]
    list_filter = ["queue"]


@admin.register(models.ReviewerPause)
class ReviewerPauseAdmin(admin.ModelAdmin):
    list_display = ["reviewer", "queue", "reason", "created_at", "lifted_at"]


@admin.register(models.PracticeAnswer)
class PracticeAnswerAdmin(admin.ModelAdmin):
    list_display = ["item", "reviewer", "created_at"]
