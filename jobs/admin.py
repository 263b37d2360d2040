"""Jobs in the admin: records, read-only."""
from django.contrib import admin

from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject", "version", "status", "stage", "created_at", "finished_at", "code_version"]
    list_filter = ["kind", "status"]
    search_fields = ["subject"]
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
