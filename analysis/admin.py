"""Analysis runs and exclusions in the admin (runs are records: read-only), of the campaigns the user may view."""
from django.contrib import admin

from annotation.admin import CampaignScopedAdmin

from .models import AnalysisRun, AnnotatorExclusion


@admin.register(AnalysisRun)
class AnalysisRunAdmin(CampaignScopedAdmin):
    list_display = ["campaign", "version", "status", "trigger", "stage", "created_at", "finished_at", "code_version"]
    list_filter = ["campaign", "job__status", "trigger"]
    list_select_related = ["campaign", "job"]
    readonly_fields = ["job", "campaign", "trigger"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AnnotatorExclusion)
class AnnotatorExclusionAdmin(CampaignScopedAdmin):
    list_display = ["campaign", "annotator", "reason", "created_by", "created_at"]
    list_filter = ["campaign"]
    search_fields = ["annotator__external_id", "reason"]
    raw_id_fields = ["annotator"]
