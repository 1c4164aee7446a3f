from django.contrib import admin

from . import models


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


@admin.register(models.LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(admin.ModelAdmin):
    list_display = ["queue", "workspace", "judgments", "computed_at"]
    readonly_fields = [f.name for f in models.LeaderboardSnapshot._meta.fields]
