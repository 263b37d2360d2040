"""What the API reads and answers, one named serializer per shape (the OpenAPI components take their names).

Annotators appear only by their pseudonym (annotation.pseudonyms) and attributes: never an
external id, a login or a crowd platform's parameters. Researchers see the roles and gold scores
of their own campaigns' videos; annotators reach none of this API.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation import access
from annotation.access import Action
from annotation.models import AnnotationSession, Annotator, Attempt, Campaign, CampaignMembership, Rating, Video
from annotation.pseudonyms import annotator_name
from annotation.services.campaigns import EDITABLE_FIELDS
from jobs.artifacts import ArtifactStore
from jobs.models import Job
from jobs.services import job_progress
from modeling.models import TrainedModel

# --- Campaigns --------------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in the campaign (null for a superuser who is not a member).")
    actions = serializers.SerializerMethodField(help_text="What you may do: view, analyse, change, manage.")
    consent_version = serializers.SerializerMethodField(help_text="The current consent text's version (null: none yet).")
    # URLs or empty: read as text, so the schema does not promise a URL that may be "".
    completion_redirect_url = serializers.CharField(help_text="Where a qualified annotator is sent afterwards (a URL, or empty).")
    no_consent_redirect_url = serializers.CharField(help_text="Where a person who does not agree is sent (a URL, or empty).")
    screen_out_redirect_url = serializers.CharField(help_text="Where a screened-out person is sent (a URL, or empty).")

    class Meta:
        model = Campaign
        fields = ["slug", "is_open", *EDITABLE_FIELDS, "created_at", "consent_version", "role", "actions"]
        read_only_fields = fields

    def get_role(self, campaign) -> str | None:
        return getattr(campaign, "member_role", None)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=[a.value for a in Action])))
    def get_actions(self, campaign) -> list[str]:
        return sorted(access.allowed_actions(self.context["request"].user, getattr(campaign, "member_role", None)))

    def get_consent_version(self, campaign) -> int | None:
        return getattr(campaign, "consent_version", None)


class CampaignWriteSerializer(serializers.ModelSerializer):
    """The settings of a campaign; `consent_text`, when it differs from the current one, becomes a new version."""

    consent_text = serializers.CharField(required=False, allow_blank=False, max_length=20000, write_only=True)
    completion_redirect_url = serializers.URLField(required=False, allow_blank=True, max_length=200)
    no_consent_redirect_url = serializers.URLField(required=False, allow_blank=True, max_length=200)
    screen_out_redirect_url = serializers.URLField(required=False, allow_blank=True, max_length=200)

    class Meta:
        model = Campaign
        fields = [*EDITABLE_FIELDS, "consent_text"]
        extra_kwargs = {"title": {"required": True}}


class CampaignCreateSerializer(CampaignWriteSerializer):
    class Meta(CampaignWriteSerializer.Meta):
        fields = ["slug", "is_open", *CampaignWriteSerializer.Meta.fields]
        # The slug is checked by the service (one answer, 409, for a taken slug, even under a race).
        extra_kwargs = {"title": {"required": True}, "slug": {"validators": []}}


class CampaignStatusVideoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source_name = serializers.CharField()
    method = serializers.CharField()
    identity_pair = serializers.CharField()
    role = serializers.CharField(help_text="Always regular: only regular videos are counted here.")
    poster = serializers.CharField(help_text="The poster's stored name, served at /media/<poster>.")
    qualified = serializers.IntegerField(help_text="Ratings in qualified attempts.")
    in_progress = serializers.IntegerField(help_text="Sessions in progress that hold the video.")


class VideoWithoutFileSerializer(serializers.Serializer):
    """A video with no file (added in the admin, say): never shown to annotators."""

    id = serializers.IntegerField()
    source_name = serializers.CharField()
    role = serializers.CharField()


class CampaignStatusSerializer(serializers.Serializer):
    """annotation.selectors.campaign_status: progress to the target, sessions, redo share."""

    videos = serializers.IntegerField()
    target = serializers.IntegerField()
    videos_at_target = serializers.IntegerField()
    ratings_min = serializers.IntegerField()
    ratings_median = serializers.FloatField()
    ratings_max = serializers.IntegerField()
    qualified_ratings = serializers.IntegerField()
    sessions_started = serializers.IntegerField()
    sessions_active = serializers.IntegerField()
    sessions_qualified = serializers.IntegerField()
    sessions_abandoned = serializers.IntegerField()
    sessions_exhausted = serializers.IntegerField(help_text="Closed after their last allowed attempt was disqualified.")
    attempts_disqualified = serializers.IntegerField()
    annotators = serializers.IntegerField()
    annotators_finished = serializers.IntegerField()
    annotators_redo = serializers.IntegerField()
    redo_share = serializers.FloatField(allow_null=True)
    per_video = CampaignStatusVideoSerializer(many=True)
    videos_without_file = VideoWithoutFileSerializer(many=True)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.get_username", read_only=True)

    class Meta:
        model = CampaignMembership
        fields = ["username", "role", "created_at"]
        read_only_fields = fields


class MemberWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=CampaignMembership.Role.choices)

    def validate_username(self, value: str):
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: value}).first()
        if user is None:
            raise serializers.ValidationError(f"No user {value!r}.")
        return user


# --- Videos -----------------------------------------------------------------------------------


class VideoSerializer(serializers.ModelSerializer):
    qualified_ratings = serializers.IntegerField(read_only=True, help_text="Ratings in qualified attempts.")
    file = serializers.FileField(read_only=True, use_url=True)
    poster = serializers.FileField(read_only=True, use_url=True)

    class Meta:
        model = Video
        fields = [
            "id", "role", "source_name", "identity_pair", "method", "is_real", "gold_score", "demo_grade", "demo_reason",
            "duration_s", "fps", "width", "height", "source_codec", "file", "poster", "qualified_ratings", "created_at",
        ]
        read_only_fields = fields


class VideoLabelsSerializer(serializers.ModelSerializer):
    """The labels a researcher may correct on a stored video (its role and gold score come from the ingest's CSV)."""

    class Meta:
        model = Video
        fields = ["identity_pair", "method", "is_real"]


class VideoUploadSerializer(serializers.Serializer):
    metadata = serializers.FileField(help_text="The metadata CSV: file (required), identity_pair, method, is_real, gold_score, demo_grade, demo_reason.")
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False, help_text="The video files the CSV names (plain file names).")


# --- People and their work --------------------------------------------------------------------


class _PseudonymMixin:
    @staticmethod
    def _name(campaign_id: int, annotator_id: int) -> str:
        return annotator_name(campaign_id, annotator_id)


class AnnotatorSerializer(_PseudonymMixin, serializers.ModelSerializer):
    name = serializers.SerializerMethodField(help_text="The annotator's pseudonym in this campaign.")
    sessions_started = serializers.IntegerField(read_only=True)
    qualified = serializers.BooleanField(read_only=True, help_text="Whether the annotator has a qualified attempt.")

    class Meta:
        model = Annotator
        fields = ["name", "source", "age_group", "gender", "education", "prior_knowledge", "sessions_started", "qualified"]
        read_only_fields = fields

    def get_name(self, annotator) -> str:
        return self._name(annotator.campaign_id, annotator.pk)


class AttemptSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["id", "number", "outcome", "lecture_completed_at", "started_at", "finished_at"]
        read_only_fields = fields


class SessionSerializer(_PseudonymMixin, serializers.ModelSerializer):
    annotator = serializers.SerializerMethodField(help_text="The annotator's pseudonym.")
    attempts_count = serializers.IntegerField(read_only=True)
    videos_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = AnnotationSession
        fields = ["id", "annotator", "status", "started_at", "last_activity_at", "finished_at", "attempts_count", "videos_count"]
        read_only_fields = fields

    def get_annotator(self, session) -> str:
        return self._name(session.campaign_id, session.annotator_id)


class SessionDetailSerializer(SessionSerializer):
    attempts = AttemptSummarySerializer(many=True, read_only=True)

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "attempts"]
        read_only_fields = fields


class AttemptSerializer(_PseudonymMixin, serializers.ModelSerializer):
    session = serializers.IntegerField(source="session_id", read_only=True)
    annotator = serializers.SerializerMethodField(help_text="The annotator's pseudonym.")
    ratings_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Attempt
        fields = ["id", "session", "annotator", "number", "outcome", "lecture_completed_at", "started_at", "finished_at", "ratings_count"]
        read_only_fields = fields

    def get_annotator(self, attempt) -> str:
        return self._name(attempt.session.campaign_id, attempt.session.annotator_id)


class RatingSerializer(_PseudonymMixin, serializers.ModelSerializer):
    video = serializers.IntegerField(source="video_id", read_only=True)
    role = serializers.CharField(source="video.role", read_only=True, help_text="The video's role: regular, checker or demo.")
    method = serializers.CharField(source="video.method", read_only=True)
    identity_pair = serializers.CharField(source="video.identity_pair", read_only=True)
    is_real = serializers.BooleanField(source="video.is_real", read_only=True)
    gold_score = serializers.IntegerField(source="video.gold_score", read_only=True, allow_null=True)
    annotator = serializers.SerializerMethodField(help_text="The annotator's pseudonym.")
    session = serializers.IntegerField(source="attempt.session_id", read_only=True)
    attempt = serializers.IntegerField(source="attempt.number", read_only=True, help_text="The attempt's number (1, 2, ...).")
    outcome = serializers.CharField(source="attempt.outcome", read_only=True)
    qualified = serializers.SerializerMethodField()

    class Meta:
        model = Rating
        fields = [
            "id", "video", "role", "method", "identity_pair", "is_real", "gold_score", "annotator", "session", "attempt",
            "outcome", "qualified", "position", "score", "reason", "typed_reason", "seconds_spent", "played_to_end", "plays",
            "seeks", "fullscreen", "served_at", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_annotator(self, rating) -> str:
        return self._name(rating.attempt.session.campaign_id, rating.attempt.session.annotator_id)

    def get_qualified(self, rating) -> bool:
        return rating.attempt.outcome == Attempt.Outcome.QUALIFIED


# --- Jobs and analyses ------------------------------------------------------------------------


class JobSerializer(serializers.ModelSerializer):
    """A job of the runner (analysis, ingest, export) and how far it got."""

    campaign = serializers.SerializerMethodField(help_text="The slug of the campaign the job is about (null: none).")
    done = serializers.SerializerMethodField(help_text="Stages finished.")
    total = serializers.SerializerMethodField(help_text="Stages in all.")
    artifacts = serializers.SerializerMethodField(help_text="Files of a completed job, to download from .../artifacts/{name}.")

    class Meta:
        model = Job
        fields = [
            "id", "kind", "version", "campaign", "status", "stage", "done", "total", "error", "parameters", "inputs", "summary",
            "code_version", "created_at", "started_at", "finished_at", "artifacts",
        ]
        read_only_fields = fields

    def get_campaign(self, job) -> str | None:
        return self.context.get("campaign_slugs", {}).get(job.subject)

    def get_done(self, job) -> int:
        return job_progress(job)["done"]

    def get_total(self, job) -> int:
        return job_progress(job)["total"]

    def get_artifacts(self, job) -> list[str]:
        return ArtifactStore.for_job(job).names() if job.status == Job.Status.COMPLETED else []


class AnalysisParametersSerializer(serializers.Serializer):
    """analysis.pipeline.Parameters: every field optional, its default used when left out."""

    confidence = serializers.FloatField(required=False, min_value=0.5, max_value=0.999)
    consistency_repetitions = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    consistency_sizes = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=1_000_000), required=False, max_length=100)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    time_quantiles = serializers.IntegerField(required=False, min_value=1, max_value=20)
    content_ambiguity = serializers.BooleanField(required=False)
    top_words = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    min_reason_words = serializers.IntegerField(required=False, min_value=0, max_value=100)


class AnalysisStartSerializer(serializers.Serializer):
    parameters = AnalysisParametersSerializer(required=False)


class AnalysisRunSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Job.Status.choices)
    trigger = serializers.CharField()
    job = serializers.IntegerField(source="job_id")
    stage = serializers.CharField()
    error = serializers.CharField()
    parameters = serializers.JSONField()
    inputs = serializers.JSONField()
    summary = serializers.JSONField(allow_null=True)
    code_version = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class AnalysisRunDetailSerializer(AnalysisRunSerializer):
    stage_seconds = serializers.DictField(child=serializers.FloatField(), help_text="Seconds of each finished stage, in stage order.")
    results = serializers.JSONField(help_text="The outputs of the run's stages, merged (as the dashboards read them).")


class ExportStartSerializer(serializers.Serializer):
    """What a new dataset export holds (analysis.export.parameters.ExportParameters has the rules)."""

    include = serializers.ChoiceField(choices=["qualified", "all"], default="qualified",
                                      help_text="qualified: the ratings of qualified attempts (the paper's dataset); all: every attempt.")
    with_videos = serializers.BooleanField(default=False, help_text="Copy the transcoded MP4s under their pseudonymous names.")
    splits = serializers.IntegerField(default=10, min_value=0, max_value=100, help_text="How many train/test splits (0: none).")
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1, help_text="Split k is drawn with seed + k.")


class WithdrawalSerializer(serializers.Serializer):
    """A consent withdrawal: what was deleted, without personal data."""

    annotator = serializers.CharField(help_text="The annotator's pseudonym in exports.")
    withdrawn_at = serializers.DateTimeField()
    ratings_deleted = serializers.IntegerField()
    attempts_deleted = serializers.IntegerField()
    sessions_deleted = serializers.IntegerField()


# --- Trained models (modeling) ----------------------------------------------------------------


class TrainedModelSerializer(serializers.ModelSerializer):
    """A model of the registry: what it learned from (campaign, export, split), its configuration, its scores on the split's test sets."""

    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True,
                                            help_text="The campaign of its export (null: an export from elsewhere).")
    export_version = serializers.SerializerMethodField(help_text="The version of the campaign's export it trained on (null: trained from a folder).")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="Who trained it (null: manage.py train, or a deleted user).")
    metrics = serializers.JSONField(help_text="PLCC and SRCC per test set, plcc_avr, srcc_avr and avr (the paper's Table II, one split).")
    config_values = serializers.JSONField(help_text="The configuration after overrides.")
    weights_used = serializers.JSONField(help_text="The pretrained files it started from: name, file, sha256.")
    seconds = serializers.JSONField(help_text="Seconds to fit and to predict the test sets.")

    class Meta:
        model = TrainedModel
        fields = ["id", "name", "config", "method", "config_values", "campaign", "export_version", "export_sha256", "split", "seed",
                  "metrics", "weights_used", "device", "torch_version", "seconds", "created_at", "created_by", "job"]
        read_only_fields = fields

    def get_export_version(self, model) -> int | None:
        return model.export_job.version if model.export_job_id else None


class _ModelJobSerializer(serializers.Serializer):
    campaign = serializers.SlugField(help_text="The campaign whose export to use (you need the analyse action on it).")
    export_version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                              help_text="The export version (default: the latest completed one).")
    overrides = serializers.DictField(required=False, default=dict, help_text="Configuration values to override (key: value).")
    device = serializers.RegexField(r"^(auto|cpu|cuda(:\d{1,2})?)$", required=False, default="auto", help_text="auto, cpu, cuda or cuda:N.")
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**32 - 1)


class ModelTrainSerializer(_ModelJobSerializer):
    """Train one configuration on one split of a campaign's export: a job of kind "train" on the training queue."""

    config = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,79}$", help_text="A configuration name (modeling/configs/<name>.json).")
    split = serializers.IntegerField(required=False, default=0, min_value=0, max_value=99)
    name = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,79}$", required=False, default="", allow_blank=True,
                                  help_text="The model's name (default <config>-split<k>-job<id>).")


class ModelBenchmarkSerializer(_ModelJobSerializer):
    """Every configuration x split of a campaign's export (Table II): a job of kind "benchmark" on the training queue."""

    configs = serializers.ListField(child=serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,79}$"), min_length=1, max_length=30)
    splits = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=99), required=False, min_length=1, max_length=100,
                                   help_text="Split numbers (default 0 to 9).")
    explain = serializers.BooleanField(required=False, default=True, help_text="Score explanations (Table V) for methods that explain.")


class ModelPredictSerializer(serializers.Serializer):
    video = serializers.FileField(help_text="A video file (MP4, WebM, AVI, MOV...); probed and face-cropped as the export's videos were.")


class ModelPredictionSerializer(serializers.Serializer):
    """A model's score of one uploaded video, and its explanation when the method explains."""

    video = serializers.CharField(help_text="The uploaded file's name.")
    score = serializers.FloatField(help_text="The predicted MOS (1 = very low realism ... 5 = high realism).")
    model = serializers.CharField()
    frames = serializers.IntegerField(help_text="Face crops made (one of every `step` frames).")
    faces_detected = serializers.IntegerField(help_text="Crops around a face found in that frame.")
    detector = serializers.CharField()
    duration_s = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    explanation = serializers.JSONField(required=False, help_text="neighbours (top-K training videos: video, similarity, reasons) and "
                                                                 "categories (the 37-share category vector by name).")
