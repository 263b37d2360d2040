"""Campaigns, videos, annotators and the records of their sessions, attempts and ratings.

The workflow rules (assignment, submission, checker evaluation) live in `services.py`; these models
only hold state. A session is the fixed set of videos one annotator was given; an attempt is one
pass over that set in its own random order. A disqualified attempt is followed by another attempt
of the same session, so the ratings of every attempt stay stored beside their outcome.
"""
import secrets

from django.conf import settings
from django.core.validators import EmailValidator, MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# The stored sentence of a grade-5 rating: data for the analysis, the same in every language.
GRADE5_REASON = "The realism is very high, and there are no detectable signs of forgery"

# The five grades, verbatim in meaning from the DREAM protocol (DOMAIN.md section 1).
# Translated lazily: shown in the annotator's language (locale/), stored and analysed as the grade number.
GRADES = {
    1: (_("Very low sense of realism"), _("Obvious traces of forgery can be seen, seriously affecting viewing.")),
    2: (_("Relatively low sense of realism"), _("Obvious traces of forgery, which hinder normal viewing.")),
    3: (_("Average sense of realism"), _("Relatively obvious traces, but little impact on normal viewing.")),
    4: (_("Relatively high sense of realism"), _("Traces of suspected forgery, not obvious or uncertain.")),
    5: (_("High sense of realism"), _("No traces of forgery can be seen.")),
}

grade_validators = [MinValueValidator(1), MaxValueValidator(5)]


def validate_contact(value: str) -> None:
    """A campaign's contact: an email address or an http(s) address, nothing else (it becomes a link)."""
    if "@" in value and not value.lower().startswith(("http://", "https://")):
        EmailValidator(message="Enter an email address or a web address starting with https://.")(value)
    else:
        URLValidator(schemes=["http", "https"], message="Enter an email address or a web address starting with https://.")(value)


# The lecture a new campaign starts with. A campaign's lecture is the researchers' text, shown as they
# wrote it; only this default, left unchanged, is shown translated (annotation.language.lecture_text).
DEFAULT_LECTURE = gettext_noop(
    "A deepfake is a video in which the face of one person has been replaced by the face of "
    "another person by a computer program (a face swap). Some deepfakes look perfectly real, "
    "others show traces of the forgery: blur, flicker, a visible seam around the face, colours "
    "that do not match, a stiff mouth, shaking, and so on.\n\n"
    "You will watch short videos and rate how real each one looks on a five-grade scale. Watch "
    "each video as often as you like: you can pause, replay, seek and go full-screen. Then pick "
    "a grade and write the reason for it."
)
REASON_EXAMPLE = _('e.g. "The whole face flickers dramatically and the mouth movement looks unnatural"')
REASON_SUGGESTION = _(
    'Suggested form of a reason: "<place> looks like having <artifact> of <extent>", for example '
    '"The whole face flickers dramatically and the mouth movement looks unnatural".'
)


def media_secret_new() -> str:
    """A campaign's key for its media names (`annotation.media.stored_names`): 256 random bits."""
    return secrets.token_hex(32)


class Campaign(models.Model):
    """One study: its videos, its rules and its texts. Several campaigns run at once."""

    class Language(models.TextChoices):
        """The language of the annotator pages (annotation.language); staff pages are in English."""

        ENGLISH = "en", "English"
        CHINESE = "zh-hans", "Simplified Chinese (简体中文)"
        CHOICE = "choice", "The annotator chooses (English or Simplified Chinese)"

    slug = models.SlugField(unique=True)
    # Keys the names of the campaign's stored videos and posters, so that a public dataset's file
    # hash does not say which served video is which. Never shown, exported or editable.
    media_secret = models.CharField(max_length=64, default=media_secret_new, editable=False)
    title = models.CharField(max_length=200)
    is_open = models.BooleanField(default=True, help_text="Closed campaigns accept no new annotators.")
    videos_per_session = models.PositiveSmallIntegerField(default=40, validators=[MinValueValidator(1)])
    checkers_per_session = models.PositiveSmallIntegerField(default=5)
    checker_tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="A checker rated more than this many grades away from its gold score disqualifies."
    )
    target_ratings_per_video = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    min_reason_length = models.PositiveSmallIntegerField(default=10)
    sessions_per_annotator = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="How many sessions one annotator may complete."
    )
    session_timeout_minutes = models.PositiveIntegerField(
        default=120, help_text="A session idle this long is abandoned and its videos go back to the pool."
    )
    language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.ENGLISH, db_default=Language.ENGLISH,
        help_text="The language of the annotator pages. The texts written here (title, lecture, consent, grade-5 "
        "sentence) are shown as written: write them in that language.",
    )
    lecture_text = models.TextField(default=DEFAULT_LECTURE)
    grade5_reason = models.CharField(max_length=300, default=GRADE5_REASON)
    completion_code = models.CharField(max_length=64, blank=True)
    completion_redirect_url = models.URLField(
        blank=True, help_text="Where a qualified annotator is sent afterwards, e.g. the crowd platform's completion link."
    )
    # Study-flow settings crowd platforms expect (shown or applied by the annotator pages). Each has a
    # database default too, so code of the previous release can still write campaigns while a
    # deployment migrates (and the migration tests' historical models can).
    expected_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How long a session takes, shown on the consent page."
    )
    pay_text = models.CharField(db_default="", max_length=200, blank=True, help_text='The pay, shown on the consent page, e.g. "£4.50".')
    no_consent_code = models.CharField(
        db_default="", max_length=64, blank=True, help_text="The code shown to a person who does not agree to the consent text."
    )
    no_consent_redirect_url = models.URLField(
        db_default="", blank=True, help_text="Where a person who does not agree is sent, e.g. the platform's screen-out link."
    )
    max_attempts = models.PositiveSmallIntegerField(
        db_default=3, null=True, blank=True, default=3, validators=[MinValueValidator(1)],
        help_text="Attempts of one session before the person is screened out; empty for no cap.",
    )
    screen_out_code = models.CharField(
        db_default="", max_length=64, blank=True, help_text="The code shown to a person screened out after the last attempt."
    )
    screen_out_redirect_url = models.URLField(
        db_default="", blank=True, help_text="Where a screened-out person is sent, e.g. the platform's screen-out link."
    )
    contact = models.CharField(
        db_default="", max_length=200, blank=True, validators=[validate_contact],
        help_text="An email address or web address where annotators can reach the researchers; every annotator page links to it.",
    )
    # Off for every campaign the migration found, and by default for a new one made by code (the demo
    # study, the API, tests): their simulated crowds and replays send no playback events. The admin's
    # add form ticks it (CampaignAdmin), as the P.910 crowdsourcing toolkit does for a paid study.
    require_play_to_end = models.BooleanField(
        db_default=False, default=False,
        help_text="Accept a rating only after the video played to the end once, and the lecture's start only after "
        "every demo did, as the server's clock measured it (skipping ahead does not count).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        # Starting analyses and exports is neither viewing nor changing the campaign (annotation.access).
        permissions = [("analyse_campaign", "Can start analyses and exports of a campaign and download its exports")]

    def __str__(self):
        return self.title or self.slug

    @property
    def regular_per_session(self) -> int:
        return max(self.videos_per_session - self.checkers_per_session, 0)

    @property
    def contact_href(self) -> str:
        """The contact as a link target: a mailto: for an email address."""
        if self.contact and not self.contact.lower().startswith(("http://", "https://")):
            return f"mailto:{self.contact}"
        return self.contact


class CampaignMembership(models.Model):
    """A researcher's role in one campaign; annotation.access says what each role may do."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ANALYST = "analyst", "Analyst"
        VIEWER = "viewer", "Viewer"

    # No index of its own: `membership_unique` starts with this column and serves its lookups.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "user_id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "user"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} {self.role} of {self.campaign.slug}"


class ConsentText(models.Model):
    """A version of a campaign's consent text; annotators record which version they agreed to."""

    # No index of its own: `consent_version_unique` starts with this column and serves its lookups.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="consent_texts", db_index=False)
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["campaign", "version"], name="consent_version_unique")]

    def __str__(self):
        return f"{self.campaign.slug} consent v{self.version}"


class Video(models.Model):
    """One stimulus. Stored files are named by content hash so no name leaks a label."""

    class Role(models.TextChoices):
        REGULAR = "regular", "Regular"
        CHECKER = "checker", "Checker (hidden, gold score)"
        DEMO = "demo", "Lecture demo"

    # No index of its own: `video_hash_unique_per_campaign` starts with this column and serves its lookups.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="videos", db_index=False)
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.REGULAR)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the source file.")
    source_name = models.CharField(max_length=500, help_text="The researcher's file name; never shown to annotators.")
    file = models.FileField(max_length=300)
    poster = models.FileField(max_length=300)
    identity_pair = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=100, blank=True)
    is_real = models.BooleanField(default=False)
    gold_score = models.PositiveSmallIntegerField(null=True, blank=True, validators=grade_validators)
    demo_grade = models.PositiveSmallIntegerField(null=True, blank=True, validators=grade_validators)
    demo_reason = models.TextField(blank=True)
    duration_s = models.FloatField(default=0)
    fps = models.FloatField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    source_codec = models.CharField(max_length=40, blank=True)
    assigned_sessions = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Sessions in progress or qualified that hold this video: the load assignment balances. "
        "Kept by annotation.services, so a session start reads one row per video instead of counting every session item.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "content_hash"], name="video_hash_unique_per_campaign"),
        ]
        indexes = [models.Index(fields=["campaign", "role"])]

    def __str__(self):
        return self.source_name


class Annotator(models.Model):
    """A person rating in one campaign, bound to a crowd-platform id, a lab login or a browser."""

    class Source(models.TextChoices):
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "Amazon MTurk"
        LAB = "lab", "Lab login"
        LINK = "link", "Open link"

    class AgeGroup(models.TextChoices):
        UNDER_20 = "<20", _("under 20")
        FROM_20 = "20-29", "20-29"
        FROM_30 = "30-39", "30-39"
        FROM_40 = "40-49", "40-49"
        FROM_50 = "50+", _("50 or older")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNDISCLOSED = "undisclosed", _("Prefer not to say")

    class Education(models.TextChoices):
        SECONDARY = "secondary", _("High school or below")
        BACHELOR = "bachelor", _("Bachelor or equivalent")
        MASTER = "master", _("Master or equivalent")
        DOCTORATE = "doctorate", _("Doctorate")

    class PriorKnowledge(models.TextChoices):
        NONE = "none", _("I had never heard of deepfakes")
        HEARD = "heard", _("I have heard of deepfakes")
        SEEN = "seen", _("I have knowingly watched deepfakes")
        EXPERT = "expert", _("I work with or study deepfakes")

    # No index of its own: `annotator_identity_unique` starts with this column and serves its lookups.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="annotators", db_index=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    external_id = models.CharField(max_length=128)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    platform_params = models.JSONField(default=dict, blank=True)
    consent = models.ForeignKey(ConsentText, null=True, blank=True, on_delete=models.PROTECT)
    consented_at = models.DateTimeField(null=True, blank=True)
    age_group = models.CharField(max_length=8, choices=AgeGroup.choices, blank=True)
    gender = models.CharField(max_length=12, choices=Gender.choices, blank=True)
    education = models.CharField(max_length=10, choices=Education.choices, blank=True)
    prior_knowledge = models.CharField(max_length=8, choices=PriorKnowledge.choices, blank=True)
    demographics_at = models.DateTimeField(null=True, blank=True)
    # A random token kept in the server-side session of the browser that consented: a second
    # submission of its consent form (a double click) finds this row rather than refusing the worker
    # id as someone else's. Never shown or exported; "" for rows made before it existed.
    entry_token = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "source", "external_id"], name="annotator_identity_unique"),
        ]

    def __str__(self):
        return f"{self.get_source_display()} {self.external_id}"


class AnnotationSession(models.Model):
    """The fixed set of videos (regular and checkers) given to one annotator."""

    class Status(models.TextChoices):
        ACTIVE = "active", "In progress"
        QUALIFIED = "qualified", "Qualified"
        ABANDONED = "abandoned", "Abandoned"
        # Its last allowed attempt (Campaign.max_attempts) was disqualified: closed, its videos released
        # like an abandoned one's, and its annotator screened out (no new session).
        EXHAUSTED = "exhausted", "Attempts exhausted"

    # No index of its own: the (campaign, status, last_activity_at) index starts with this column and serves its lookups.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sessions", db_index=False)
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="sessions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    videos = models.ManyToManyField(Video, through="SessionItem", related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["campaign", "status", "last_activity_at"])]

    def __str__(self):
        return f"session {self.pk} of {self.annotator}"


class SessionItem(models.Model):
    # No index of its own: `session_item_unique` starts with this column and serves its lookups.
    session = models.ForeignKey(AnnotationSession, on_delete=models.CASCADE, related_name="items", db_index=False)
    video = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="session_items")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "video"], name="session_item_unique")]


class Attempt(models.Model):
    """One pass over a session's videos, in its own order, ending qualified or disqualified."""

    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        QUALIFIED = "qualified", "Qualified"
        DISQUALIFIED = "disqualified", "Disqualified"
        ABANDONED = "abandoned", "Abandoned"

    # No index of its own: `attempt_number_unique` starts with this column and serves its lookups.
    session = models.ForeignKey(AnnotationSession, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    number = models.PositiveSmallIntegerField()
    video_order = models.JSONField(help_text="Video ids in the order this attempt shows them.")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    lecture_completed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session_id", "number"]
        constraints = [models.UniqueConstraint(fields=["session", "number"], name="attempt_number_unique")]

    def __str__(self):
        return f"attempt {self.number} of session {self.session_id}"


class Rating(models.Model):
    """A grade and its reason for one video within one attempt (one row, however often submitted)."""

    # No index of its own: `rating_once_per_attempt` starts with this column and serves its lookups.
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="ratings", db_index=False)
    video = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="ratings")
    position = models.PositiveSmallIntegerField(help_text="1-based place of the video in its attempt.")
    score = models.PositiveSmallIntegerField(validators=grade_validators)
    reason = models.TextField(help_text="The stored reason: the campaign's fixed sentence for grade 5.")
    typed_reason = models.TextField(help_text="What the annotator typed.")
    served_at = models.DateTimeField(help_text="When the server delivered the video to the annotator.")
    seconds_spent = models.FloatField(help_text="Server-side seconds from delivery to submission.")
    played_to_end = models.BooleanField(default=False)
    plays = models.PositiveIntegerField(default=0)
    seeks = models.PositiveIntegerField(default=0)
    fullscreen = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["attempt_id", "position"]
        constraints = [models.UniqueConstraint(fields=["attempt", "video"], name="rating_once_per_attempt")]

    def __str__(self):
        return f"{self.score} for video {self.video_id}"


class VideoPlay(models.Model):
    """When an annotator's browser last started a video from its beginning, and when it last reported
    the end, by the server's clock: what `rules.SUBMIT_PLAYED` and `rules.LECTURE_DEMOS_PLAYED` read
    when a campaign requires play to the end. An end is stored only when the time since the start
    is at least the video's duration (`rules.play_long_enough`), so seeking ahead cannot produce one.
    One row per annotator and video, rewritten by replays; a play belongs to an attempt when it ended
    after the attempt started."""

    # No index of its own: `video_play_unique` starts with this column and serves its lookups.
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="video_plays", db_index=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["annotator_id", "video_id"]
        constraints = [models.UniqueConstraint(fields=["annotator", "video"], name="video_play_unique")]

    def __str__(self):
        return f"play of video {self.video_id} by annotator {self.annotator_id}"


class Withdrawal(models.Model):
    """The record that an annotator withdrew consent and their data was deleted: counts and times, no personal data.

    The annotator's row, sessions, attempts and ratings are gone (annotation.services.withdrawal);
    this row keeps what a researcher needs to act on it elsewhere and nothing that identifies the
    person: no platform id, login, platform parameters, answers or reasons. `annotator` is the
    pseudonym exports and APIs gave them (annotation.pseudonyms.annotator_name): an HMAC of the
    campaign and the deleted row's id under the deployment's key, meaningless without the key and
    pointing at nothing left in the platform. It names their rows in exports made before the
    withdrawal, which `first_rating_at` and `withdrawn_at` bracket, so those can be found and redone.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="withdrawals")
    annotator = models.CharField(max_length=20, help_text="The annotator's pseudonym in exports (annotation.pseudonyms.annotator_name).")
    withdrawn_at = models.DateTimeField()
    first_rating_at = models.DateTimeField(
        null=True, blank=True, help_text="When their first rating was stored; empty when they had none (no export held them)."
    )
    ratings_deleted = models.PositiveIntegerField()
    attempts_deleted = models.PositiveIntegerField()
    sessions_deleted = models.PositiveIntegerField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The staff member who carried out the request.",
    )

    class Meta:
        ordering = ["campaign_id", "-withdrawn_at"]

    def __str__(self):
        return f"withdrawal of {self.annotator} from campaign {self.campaign_id}"
