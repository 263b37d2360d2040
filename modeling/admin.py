"""Trained models in the admin: registry records (read-only but deletable), of the campaigns the user may view."""
from django.contrib import admin

from annotation.admin import CampaignScopedAdmin

from .models import TrainedModel


@admin.register(TrainedModel)
class TrainedModelAdmin(CampaignScopedAdmin):
    list_display = ["name", "config", "method", "campaign", "split", "avr", "device", "created_at", "created_by"]
    list_filter = ["config", "method", "campaign"]
    list_select_related = ["campaign", "created_by"]
    search_fields = ["name", "config", "export_sha256"]
    readonly_fields = [f.name for f in TrainedModel._meta.fields]

    def has_add_permission(self, request):
        return False  # models are made by training (manage.py train --register, or a training job)

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="avr")
    def avr(self, obj):
        value = obj.avr
        return "" if value is None else f"{value:.3f}"
