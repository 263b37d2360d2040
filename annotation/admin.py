"""The researchers' admin: campaigns and videos editable, collected data read-only, filters and search everywhere.

Sessions, attempts, annotators and ratings are evidence and feed the per-video counters that
assignment balances (`Video.assigned_sessions`): they are never edited or deleted here. The two
changes staff may make, releasing sessions in progress and deleting an annotator's data when they
withdraw consent, are actions that call the services which keep the counters true.

Every list shows only the campaigns the user may view (annotation.access; all of them for a
superuser), and a campaign is changed only by those whose role allows it: the admin applies the
same roles as the researchers' pages and the API.
"""
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from . import access, services
from .access import Action
from .models import AnnotationSession, Annotator, Attempt, Campaign, CampaignMembership, ConsentText, Rating, Video


class CampaignScopedAdmin(admin.ModelAdmin):
    """Rows of the campaigns the user may view only (`campaign_field` leads from the row to its campaign)."""

    campaign_field = "campaign"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if access.is_superuser(request.user):
            return queryset
        return queryset.filter(**{f"{self.campaign_field}__in": access.campaigns_visible(request.user)})


class ReadOnlyAdmin(CampaignScopedAdmin):
    """Collected data is evidence: researchers look, filter and export, but never edit it by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ConsentTextForm(forms.ModelForm):
    """A version anyone agreed to is evidence of what they agreed to: its fields are disabled, so a
    posted change is ignored (deleting it is refused too: `Annotator.consent` protects it). A new
    version is added as a new row."""

    class Meta:
        model = ConsentText
        fields = ["version", "text"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and Annotator.objects.filter(consent_id=self.instance.pk).exists():
            for field in self.fields.values():
                field.disabled = True
                field.help_text = "Agreed to by annotators: add a new version instead of changing this one."


class ConsentTextInline(admin.TabularInline):
    model = ConsentText
    form = ConsentTextForm
    extra = 0
    fields = ["version", "text", "created_at"]
    readonly_fields = ["created_at"]


class CampaignMembershipInline(admin.TabularInline):
    """The campaign's researchers and their roles; changed only by those who may manage its members."""

    model = CampaignMembership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]

    def _may_manage(self, request, obj) -> bool:
        return obj is None or access.can(request.user, obj, Action.MANAGE)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._may_manage(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_manage(request, obj)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "is_open", "videos_per_session", "checkers_per_session", "target_ratings_per_video", "status_link"]
    list_filter = ["is_open"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [CampaignMembershipInline, ConsentTextInline]
    # A completion link typed without a scheme is https (Django 6's default; 5.2 warns without it).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["open_campaigns", "close_campaigns"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "is_open", "language"]}),
        ("Sessions", {"fields": ["videos_per_session", "checkers_per_session", "checker_tolerance",
                                 "target_ratings_per_video", "sessions_per_annotator", "session_timeout_minutes"]}),
        ("Texts", {"fields": ["lecture_text", "min_reason_length", "grade5_reason"]}),
        ("Crowd platform", {"fields": ["expected_minutes", "pay_text", "completion_code", "completion_redirect_url",
                                       "no_consent_code", "no_consent_redirect_url",
                                       "max_attempts", "screen_out_code", "screen_out_redirect_url", "contact"]}),
        ("Quality", {"fields": ["require_play_to_end"]}),
    ]

    def get_changeform_initial_data(self, request):
        """A campaign set up in the admin is a study for real people: it requires play to the end
        unless unticked (the model's default stays off for campaigns made by code: the demo study's
        simulated crowd and replayed batches send no playback events)."""
        return {"require_play_to_end": True, **super().get_changeform_initial_data(request)}

    @admin.display(description="Status")
    def status_link(self, obj):
        return format_html('<a href="{}">status</a> · <a href="{}">link</a>',
                           reverse("annotation:campaign_status", args=[obj.slug]), reverse("annotation:entry", args=[obj.slug]))

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=access.campaigns_visible(request.user).values("pk"))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or access.can(request.user, obj, Action.CHANGE))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or access.can(request.user, obj, Action.CHANGE))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and not access.is_superuser(request.user):
            # The creator becomes the owner, as through the API, or they could not see what they made.
            CampaignMembership.objects.get_or_create(campaign=obj, user=request.user, defaults={"role": CampaignMembership.Role.OWNER})

    def _changeable(self, request, queryset) -> list[Campaign]:
        allowed = [c for c in queryset if access.can(request.user, c, Action.CHANGE)]
        if len(allowed) < len(queryset):
            self.message_user(request, f"{len(queryset) - len(allowed)} campaign(s) left as they were: your role does not allow changing them.",
                              messages.WARNING)
        return allowed

    @admin.action(description="Open the selected campaigns", permissions=["change"])
    def open_campaigns(self, request, queryset):
        services.campaign_open_set(campaigns=self._changeable(request, queryset), is_open=True)

    @admin.action(description="Close the selected campaigns", permissions=["change"])
    def close_campaigns(self, request, queryset):
        services.campaign_open_set(campaigns=self._changeable(request, queryset), is_open=False)


@admin.register(Video)
class VideoAdmin(CampaignScopedAdmin):
    list_display = ["poster_thumb", "source_name", "campaign", "role", "identity_pair", "method", "is_real", "gold_score", "demo_grade", "duration_s"]
    list_display_links = ["source_name"]
    list_filter = ["campaign", "role", "is_real", "method"]
    search_fields = ["source_name", "identity_pair", "method", "content_hash"]
    readonly_fields = ["content_hash", "file", "poster", "duration_s", "fps", "width", "height", "source_codec", "created_at"]

    @admin.display(description="Poster")
    def poster_thumb(self, video):
        if not video.poster:
            return "–"
        return format_html('<img class="poster-thumb" src="{}" alt="" loading="lazy" width="80">', video.poster.url)

    def has_add_permission(self, request):
        # A video needs its file, poster and hash, which only the ingest (import_videos, the API's
        # upload) makes: a row added here would have none and never be shown.
        return False


@admin.register(Annotator)
class AnnotatorAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "campaign", "source", "age_group", "gender", "education", "prior_knowledge", "consented_at"]
    list_filter = ["campaign", "source", "age_group", "gender", "education", "prior_knowledge"]
    search_fields = ["external_id", "user__username"]
    readonly_fields = ["campaign", "source", "external_id", "user", "platform_params", "consent", "consented_at", "demographics_at", "created_at"]
    actions = ["withdraw_consent"]

    @admin.action(description="Withdraw consent: delete the selected annotators' data", permissions=["withdraw"])
    def withdraw_consent(self, request, queryset):
        """A confirmation page first (as Django's own delete action), then the withdrawal service per
        annotator of a campaign whose owner the user is (as through the API)."""
        annotators = [a for a in queryset.select_related("campaign") if access.can(request.user, a.campaign, Action.CHANGE)]
        if len(annotators) < len(queryset):
            self.message_user(request, f"{len(queryset) - len(annotators)} annotator(s) left as they were: only a campaign's "
                              "owner may withdraw its annotators' data.", messages.WARNING)
        if request.POST.get("post") != "yes":
            ratings = dict(Rating.objects.filter(attempt__session__annotator__in=annotators)
                           .values("attempt__session__annotator").annotate(n=Count("id"))
                           .values_list("attempt__session__annotator", "n"))
            return TemplateResponse(request, "admin/annotation/annotator/withdraw_confirmation.html", {
                **self.admin_site.each_context(request),
                "title": "Withdraw consent: delete these annotators' data?",
                "opts": self.model._meta,
                "rows": [(a, ratings.get(a.pk, 0)) for a in annotators],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "action": "withdraw_consent",
            })
        withdrawals = [services.annotator_withdraw(annotator=a, requested_by=request.user) for a in annotators]
        self.message_user(request, f"Data of {len(withdrawals)} annotator(s) deleted ({sum(w.ratings_deleted for w in withdrawals)} "
                          f"ratings); recorded as {', '.join(w.annotator for w in withdrawals)}.", messages.SUCCESS)

    def has_withdraw_permission(self, request):
        return request.user.has_perm("annotation.delete_annotator")


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    fields = ["number", "outcome", "lecture_completed_at", "started_at", "finished_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AnnotationSession)
class AnnotationSessionAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "annotator", "status", "started_at", "last_activity_at", "finished_at"]
    list_filter = ["campaign", "status"]
    search_fields = ["annotator__external_id"]
    inlines = [AttemptInline]
    actions = ["release_sessions"]

    @admin.action(description="Release the selected sessions in progress (their videos go back to the pool)",
                  permissions=["release"])
    def release_sessions(self, request, queryset):
        released = 0
        for campaign_id in queryset.values_list("campaign_id", flat=True).distinct():
            campaign = Campaign.objects.get(pk=campaign_id)
            ids = list(queryset.filter(campaign_id=campaign_id).values_list("id", flat=True))
            released += services.sessions_release(campaign=campaign, session_ids=ids)
        self.message_user(request, f"{released} session(s) released.", messages.SUCCESS)

    def has_release_permission(self, request):
        return request.user.has_perm("annotation.change_annotationsession")


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    campaign_field = "attempt__session__campaign"
    list_display = ["id", "video", "score", "short_reason", "attempt_number", "attempt_outcome", "annotator", "seconds_spent", "played_to_end"]
    list_filter = ["attempt__session__campaign", "score", "attempt__outcome", "video__role", "played_to_end", "fullscreen"]
    search_fields = ["reason", "typed_reason", "video__source_name", "attempt__session__annotator__external_id"]
    list_select_related = ["video", "attempt__session__annotator"]

    @admin.display(description="Reason")
    def short_reason(self, obj):
        return obj.typed_reason[:60]

    @admin.display(description="Attempt", ordering="attempt__number")
    def attempt_number(self, obj):
        return obj.attempt.number

    @admin.display(description="Outcome", ordering="attempt__outcome")
    def attempt_outcome(self, obj):
        return obj.attempt.get_outcome_display()

    @admin.display(description="Annotator")
    def annotator(self, obj):
        return obj.attempt.session.annotator
