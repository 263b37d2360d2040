"""Jobs in the admin: records, read-only; those over campaigns the user may view (all for a superuser)."""
from django.contrib import admin

from . import selectors
from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "subject", "version", "status", "stage", "created_at", "finished_at", "code_version"]
    list_filter = ["kind", "status"]
    search_fields = ["subject"]
    readonly_fields = [f.name for f in Job._meta.fields]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=selectors.jobs_visible(request.user).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
