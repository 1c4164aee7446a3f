from django.contrib import admin

from evals import models


@admin.register(models.Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created_at"]


@admin.register(models.Log)
class LogAdmin(admin.ModelAdmin):
    list_display = ["external_id", "workspace", "model_version", "timestamp"]
    list_filter = ["workspace", "model_version"]
    search_fields = ["external_id"]


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "workspace", "status", "progress", "total", "created_at"]
    list_filter = ["kind", "status"]


@admin.register(models.SamplingRule)
class SamplingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "queue", "strategy", "schedule", "active", "next_run_at"]
    list_filter = ["workspace", "strategy", "schedule", "active"]


@admin.register(models.SamplingRun)
class SamplingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "rule", "trigger", "status", "picked", "added", "created_at"]
    list_filter = ["status", "trigger"]
    exclude = ["picks"]


@admin.register(models.JudgeEndpoint)
class JudgeEndpointAdmin(admin.ModelAdmin):
    # The encrypted API key is not editable here: set it on the Judges page (write-only).
    list_display = ["name", "workspace", "model", "base_url"]
    exclude = ["api_key_encrypted"]


@admin.register(models.JudgeRun)
class JudgeRunAdmin(admin.ModelAdmin):
    list_display = ["id", "workspace", "endpoint", "queue", "ok_count", "failed_count", "cost"]
    raw_id_fields = ["job", "queue"]


@admin.register(models.JudgeResult)
class JudgeResultAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "item", "log", "status", "attempts", "cost"]
    list_filter = ["status"]
    raw_id_fields = ["item", "log", "run"]


@admin.register(models.LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(admin.ModelAdmin):
    list_display = ["queue", "workspace", "judgments", "computed_at"]
    readonly_fields = [f.name for f in models.LeaderboardSnapshot._meta.fields]


@admin.register(models.AgreementSnapshot)
class AgreementSnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "queue", "computed_at", "judgment_count"]
    list_filter = ["queue"]
