"""Annotator pages and the rating API: each a few lines around a selector or a service."""
from __future__ import annotations

import json
import secrets
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.response import Response
from rest_framework.views import APIView

from . import access, language, platforms, rules, selectors, services, throttle
from .access import Action
from .errors import ApplicationError
from .guards import CampaignAccess, campaign_page
from .forms import INTEGER_MAX, ConsentForm, DemographicsForm, FinishForm, rating_answer_parse
from .models import GRADES, REASON_EXAMPLE, REASON_SUGGESTION, Annotator, Attempt, Campaign
from .steps import Step

STEP_URLS = {
    Step.CONSENT: "annotation:consent",
    Step.DEMOGRAPHICS: "annotation:demographics",
    Step.LECTURE: "annotation:lecture",
    Step.RATE: "annotation:rate",
    Step.REVIEW: "annotation:review",
    Step.DONE: "annotation:done",
    Step.CLOSED: "annotation:closed",
}


def _cookie_key(slug: str) -> str:
    return f"annotator:{slug}"


def step_redirect(campaign_slug: str, step: Step) -> HttpResponse:
    return redirect(STEP_URLS[step], slug=campaign_slug)


def error_page(request: HttpRequest, error: ApplicationError, campaign: Campaign | None = None) -> HttpResponse:
    return render(request, "annotation/error.html", {"error": error, "campaign": campaign}, status=error.status)


def annotator_page(*steps: Step):
    """Load the annotator bound to this browser, in their campaign's language; send them to their own
    step if it is not one of `steps`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            annotator_id = request.session.get(_cookie_key(slug))
            state = selectors.annotator_page_state(annotator_id, slug) if annotator_id else None
            if state is None:
                get_object_or_404(Campaign, slug=slug)
                return redirect("annotation:entry", slug=slug)
            annotator, progress = state
            language.activate(request, annotator.campaign)
            if steps and progress.step not in steps:
                return step_redirect(slug, progress.step)
            return view(request, annotator, progress, *args, **kwargs)

        return wrapper

    return decorator


def _entrant_key(slug: str) -> str:
    return f"entrant:{slug}"


def _entrant(request, slug: str) -> tuple[platforms.Identity, str] | None:
    """The identity of a person who entered but has not consented yet, and their entry token: kept in
    the server-side session (the client cannot forge it), written to no table before consent."""
    kept = request.session.get(_entrant_key(slug))
    if not isinstance(kept, dict):
        return None
    return platforms.Identity(kept["source"], kept["external_id"], kept["platform_params"]), kept["token"]


def _entrant_keep(request, slug: str, identity: platforms.Identity) -> None:
    kept = _entrant(request, slug)
    same = kept is not None and kept[0] == identity
    request.session[_entrant_key(slug)] = {
        "source": identity.source, "external_id": identity.external_id, "platform_params": identity.platform_params,
        "token": kept[1] if same else secrets.token_urlsafe(16),
    }


def entry(request, slug):
    """The campaign's link: finds the annotator this browser or platform id resumes and sends them to
    their step; a new person goes to consent with their identity in the session, and no row yet."""
    campaign = get_object_or_404(Campaign, slug=slug)
    language.activate(request, campaign)
    if request.GET.get("preview") == "1":  # a researcher's walk-through (annotation.preview): login and VIEW required there
        return redirect("annotation:preview_start", slug=slug)
    if platforms.is_preview(request.GET):
        return render(request, "annotation/preview.html", {"campaign": campaign})
    known = request.session.get(_cookie_key(slug))
    entrant = _entrant(request, slug)
    if known is None and entrant is None and not throttle.allow(
            f"entry:{throttle.client_address(request)}", limit=settings.ENTRY_RATE_LIMIT, window_s=settings.ENTRY_RATE_WINDOW):
        return error_page(request, rules.ENTRY_TOO_OFTEN.error(), campaign)
    try:
        identity = platforms.identity_from_request(request.GET, request.user)
        annotator = services.annotator_enter(campaign=campaign, identity=identity, known_annotator_id=known)
    except ApplicationError as error:
        return error_page(request, error, campaign)
    if annotator is None:
        if identity is None:  # the bare link: the browser keeps who it entered as (the open link: a new random id)
            identity = entrant[0] if entrant else platforms.OPEN_LINK.identity_new()
        request.session.pop(_cookie_key(slug), None)
        _entrant_keep(request, slug, identity)
        return step_redirect(slug, Step.CONSENT)
    request.session.pop(_entrant_key(slug), None)
    request.session[_cookie_key(slug)] = annotator.pk
    return step_redirect(slug, selectors.annotator_next_step(annotator))


def entrant_page(view):
    """The consent step's pages: for a person who entered and has not consented (no row yet). A
    browser bound to an annotator goes to their step; one with neither goes to the link."""

    @wraps(view)
    def wrapper(request, slug):
        annotator_id = request.session.get(_cookie_key(slug))
        state = selectors.annotator_page_state(annotator_id, slug) if annotator_id else None
        if state is not None and state[1].step != Step.CONSENT:
            return step_redirect(slug, state[1].step)
        campaign = get_object_or_404(Campaign, slug=slug)
        entrant = _entrant(request, slug)
        if entrant is None:
            return redirect("annotation:entry", slug=slug)
        language.activate(request, campaign)
        return view(request, campaign, *entrant)

    return wrapper


@require_http_methods(["GET", "POST"])
@entrant_page
def consent(request, campaign, identity, entry_token):
    """The consent text; agreeing creates the annotator's row (`services.annotator_consent`)."""
    text = selectors.campaign_current_consent(campaign)
    if text is None or not selectors.campaign_is_ready(campaign):
        return error_page(request, rules.CAMPAIGN_NOT_READY.error(), campaign)
    form = ConsentForm(request.POST or None)
    notice = None
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["version"] == text.version:
            try:
                annotator = services.annotator_consent(
                    campaign=campaign, identity=identity, consent=text, entry_token=entry_token, user=request.user,
                )
            except ApplicationError as error:
                return error_page(request, error, campaign)
            request.session.pop(_entrant_key(campaign.slug), None)
            request.session[_cookie_key(campaign.slug)] = annotator.pk
            return step_redirect(campaign.slug, Step.DEMOGRAPHICS)  # the step that follows, without a detour via entry
        # The researchers published a new version while the page was open: the annotator has not read it.
        notice = gettext("The consent text was updated while this page was open. Please read this version and agree again.")
        form = ConsentForm()
    return render(request, "annotation/consent.html", {"campaign": campaign, "consent": text, "form": form, "notice": notice})


@require_http_methods(["GET", "POST"])
@annotator_page(Step.DEMOGRAPHICS)
def demographics(request, annotator, progress):
    form = DemographicsForm(request.POST or None, instance=annotator)
    if request.method == "POST" and form.is_valid():
        services.demographics_save(annotator=annotator, **form.cleaned_data)
        return step_redirect(annotator.campaign.slug, Step.LECTURE)
    return render(request, "annotation/demographics.html", {"campaign": annotator.campaign, "form": form})


@require_http_methods(["GET", "POST"])
@annotator_page(Step.LECTURE)
def lecture(request, annotator, progress):
    campaign = annotator.campaign
    if progress.attempt is None:  # before a session: none may start in a campaign that cannot fill one
        if selectors.annotator_screened_out(annotator):
            return redirect("annotation:screened_out", slug=campaign.slug)
        if not selectors.campaign_is_ready(campaign):
            return error_page(request, rules.CAMPAIGN_NOT_READY.error(), campaign)
    if request.method == "POST":
        try:
            services.lecture_complete(annotator=annotator)
        except ApplicationError as error:
            return error_page(request, error, campaign)
        return redirect("annotation:rate", slug=campaign.slug)
    demos = selectors.demo_videos(campaign)
    grades = [
        {"grade": g, "name": name, "definition": definition, "demo": demos.get(g)}
        for g, (name, definition) in GRADES.items()
    ]
    return render(request, "annotation/lecture.html", {
        "campaign": campaign,
        "paragraphs": [p for p in language.lecture_text(campaign).split("\n\n") if p.strip()],
        "grades": grades,
        "reason_suggestion": REASON_SUGGESTION,
        "repeat": progress.attempt is not None and progress.attempt.number > 1,
        "total": len(progress.attempt.video_order) if progress.attempt else campaign.videos_per_session,
        "plays_url": reverse("annotation:play_event_api", kwargs={"slug": campaign.slug}) if campaign.require_play_to_end else "",
    })


@require_http_methods(["GET"])
@annotator_page(Step.RATE, Step.REVIEW)
def rate(request, annotator, progress):
    attempt = progress.attempt
    last_allowed = progress.next_position or len(attempt.video_order)
    try:
        position = int(request.GET.get("position", last_allowed))
    except ValueError:
        position = last_allowed
    position = min(max(position, 1), last_allowed)
    item = selectors.rating_item(attempt, position, progress.rated)
    campaign = annotator.campaign
    return render(request, "annotation/rate.html", {
        "campaign": campaign,
        "item": item,
        "submit_url": reverse("annotation:rating_submit_api", kwargs={"slug": campaign.slug}),
        "plays_url": reverse("annotation:play_event_api", kwargs={"slug": campaign.slug}) if campaign.require_play_to_end else "",
        **_time_left(annotator, item),
        "grades": [{"grade": g, "name": n, "definition": d} for g, (n, d) in GRADES.items()],
        "reason_example": REASON_EXAMPLE,
        "texts": language.rate_page_texts(annotator.campaign),
    })


def _time_left(annotator, item) -> dict:
    """The rating page's estimate of the time left: the items not rated yet times the person's own
    median seconds per item (their ratings so far, as the disqualified page's redo time), or before
    their first rating the campaign's `expected_minutes` spread over a session's videos; 0 when
    neither is known (the page then shows no estimate). The page refines it with the pace it
    measures itself. A median rather than `expected_minutes` alone: a researcher's guess is for an
    average person, while one's own pace is what the person can plan with, and a median is not
    thrown by one long pause on a video."""
    campaign = annotator.campaign
    pace = selectors.annotator_median_seconds(annotator)
    if pace is None and campaign.expected_minutes:
        pace = campaign.expected_minutes * 60 / max(campaign.videos_per_session, 1)
    pace = round(pace or 0)
    left = item.total - item.rated_count
    return {"seconds_per_item": pace, "minutes_left": max(round(left * pace / 60), 1) if pace else 0}


# A reason of 2,000 characters, 4 bytes each at most, with the token and the playback facts.
ANSWER_MAX_BYTES = 16 * 1024


def _content_length(request) -> int:
    """The body's declared length; 0 when the header is missing or not a number (as Django reads it)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


# No CSRF check: the answer is JSON, which no other site can make a browser send here (a form
# cannot set that content type, and a script on another origin would need CORS, which this site
# never grants); and the signed rating token in it names one attempt, which the service refuses
# unless it belongs to the annotator of the cookie. The submit is the request sent forty times a
# session, so the check is spared.
@csrf_exempt
@require_POST
def rating_submit_api(request, slug):
    """JSON endpoint the rating page posts to; answers with the next video or where to go."""
    annotator_id = request.session.get(_cookie_key(slug))
    language.activate_from_session(request, slug)
    if annotator_id is None:
        return JsonResponse({"code": "no_annotator", "error": gettext("Your browser lost this study's cookie. Open the study link again."),
                             "redirect": reverse("annotation:entry", kwargs={"slug": slug})}, status=403)
    if request.content_type != "application/json":
        return JsonResponse({"code": "not_json", "error": gettext("The answer must be sent as JSON. Reload the page.")}, status=415)
    if _content_length(request) > ANSWER_MAX_BYTES:
        return JsonResponse({"code": "too_large", "error": gettext("The answer is too long to be saved. Shorten the reason "
                                                                  "and save again.")}, status=413)
    try:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValidationError(gettext("The answer must be a JSON object. Reload the page."))
        answer = rating_answer_parse(data)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested past the parser's depth
        return JsonResponse({"code": "invalid", "error": gettext("The answer could not be read. Reload the page.")}, status=400)
    except ValidationError as error:
        return JsonResponse({"code": "invalid", "error": error.messages[0]}, status=400)
    try:
        result = services.rating_submit(
            annotator_id=annotator_id,
            token=answer.token,
            score=answer.score,
            typed_reason=answer.reason,
            playback=services.Playback(
                played_to_end=answer.played_to_end, plays=answer.plays, seeks=answer.seeks, fullscreen=answer.fullscreen,
            ),
        )
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.status)
    if result.next_position is None:
        target = "annotation:review" if result.attempt.outcome == Attempt.Outcome.IN_PROGRESS else "annotation:entry"
        return JsonResponse({"saved": result.rating_position, "redirect": reverse(target, kwargs={"slug": slug})})
    item = selectors.rating_item(result.attempt, result.next_position, result.rated)
    return JsonResponse({"saved": result.rating_position, "item": item.as_public_dict()})


# Small: an event name and a token or a demo's id.
PLAY_EVENT_MAX_BYTES = 2 * 1024


# No CSRF check, as the rating submit: a JSON body (which no other site can make a browser send), and
# a rating token the service refuses unless it names the cookie's annotator's attempt.
@csrf_exempt
@require_POST
def play_event_api(request, slug):
    """The rating and lecture pages' playback events: {"event": "start" | "end", "token": a rating
    page's token} or {"event": ..., "demo": a lecture demo's id}; the server's clock times them.
    Its refusals reach the page, so they speak the page's language, as the rating endpoint's do."""
    annotator_id = request.session.get(_cookie_key(slug))
    language.activate_from_session(request, slug)
    annotator = Annotator.objects.filter(pk=annotator_id, campaign__slug=slug).first() if annotator_id else None
    if annotator is None:
        return JsonResponse({"code": "no_annotator", "error": gettext("Your browser lost this study's cookie. Open the study link again."),
                             "redirect": reverse("annotation:entry", kwargs={"slug": slug})}, status=403)
    unreadable = JsonResponse({"code": "invalid", "error": gettext("The player's report could not be read. Reload the page.")}, status=400)
    if request.content_type != "application/json" or _content_length(request) > PLAY_EVENT_MAX_BYTES:
        return unreadable
    try:
        data = json.loads(request.body)
        event = data["event"]
        if event not in ("start", "end"):
            raise ValueError(event)
        if isinstance(data.get("token"), str) and data["token"]:
            video_id = services.play_video_of_token(annotator=annotator, token=data["token"][:500])
        else:
            demo = data["demo"]
            if isinstance(demo, bool) or not isinstance(demo, (int, str)) or not str(demo).isdigit() or int(demo) > INTEGER_MAX:
                raise ValueError(demo)
            video_id = services.play_video_of_demo(annotator=annotator, demo_id=int(demo))
    except (ValueError, KeyError, TypeError, RecursionError):
        return unreadable
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.status)
    try:
        (services.play_start if event == "start" else services.play_end)(annotator=annotator, video_id=video_id)
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.status)
    return JsonResponse({"event": event, "ok": True})


@require_http_methods(["GET", "POST"])
@annotator_page(Step.RATE, Step.REVIEW)
def review(request, annotator, progress):
    campaign = annotator.campaign
    error = None
    if request.method == "POST":
        form = FinishForm(request.POST)
        if form.is_valid():
            try:
                attempt = services.attempt_finish(annotator=annotator, attempt_number=form.cleaned_data["attempt"])
            except ApplicationError as exc:
                error = exc
            else:
                target = "annotation:done" if attempt.outcome == Attempt.Outcome.QUALIFIED else "annotation:disqualified"
                if attempt.outcome == Attempt.Outcome.DISQUALIFIED and selectors.annotator_screened_out(annotator):
                    target = "annotation:screened_out"
                return redirect(target, slug=campaign.slug)
        else:
            error = ApplicationError("invalid", gettext("The form was incomplete. Press Finish again."))
    rows = selectors.attempt_review(progress.attempt)
    return render(request, "annotation/review.html", {
        "campaign": campaign,
        "rate_url": reverse("annotation:rate", kwargs={"slug": campaign.slug}),
        "attempt": progress.attempt,
        "rows": rows,
        "missing": sum(r["score"] is None for r in rows),
        "error": error,
    }, status=error.status if error else 200)


@require_POST
@entrant_page
def consent_decline(request, campaign, identity, entry_token):
    """The "I do not agree" button: the browser forgets who the person is (no row was written for
    them); they leave with the campaign's no-consent code or redirect."""
    request.session.pop(_entrant_key(campaign.slug), None)
    request.session.pop(_cookie_key(campaign.slug), None)
    return redirect("annotation:declined", slug=campaign.slug)


def declined(request, slug):
    """Where a person who did not agree lands; it reads and records nothing about them."""
    campaign = get_object_or_404(Campaign, slug=slug)
    language.activate(request, campaign)
    return render(request, "annotation/leave.html", {
        "campaign": campaign, "title": _("You did not agree"),
        "message": _("You chose not to take part. Nothing about you was kept. Thank you for your time."),
        "code": campaign.no_consent_code, "url": campaign.no_consent_redirect_url,
    })


@annotator_page()
def screened_out(request, annotator, progress):
    """Where a person whose last allowed attempt was disqualified leaves, with the screen-out code."""
    campaign = annotator.campaign
    if not selectors.annotator_screened_out(annotator):
        return step_redirect(campaign.slug, progress.step)
    return render(request, "annotation/leave.html", {
        "campaign": campaign, "title": _("Thank you for your time"),
        "message": gettext("Your answers to the hidden check videos were too far from the expected grades in "
                           "{attempts} attempt(s), which is all this study allows, so it cannot continue with you.")
        .format(attempts=campaign.max_attempts),
        "code": campaign.screen_out_code, "url": campaign.screen_out_redirect_url,
    })


@annotator_page()
def disqualified(request, annotator, progress):
    if progress.step != Step.LECTURE or selectors.annotator_last_outcome(annotator) != Attempt.Outcome.DISQUALIFIED:
        return step_redirect(annotator.campaign.slug, progress.step)
    return render(request, "annotation/disqualified.html", {"campaign": annotator.campaign, **_redo_facts(annotator)})


def _redo_facts(annotator) -> dict:
    """What the disqualified page tells: how many checks the last attempt missed (never which), the
    attempts left when the campaign caps them (`max_attempts`), the minutes a redo takes (videos per
    session x the annotator's median seconds per item) and the platform's exit, if it has one."""
    campaign = annotator.campaign
    remaining = None
    if campaign.max_attempts is not None:
        remaining = max(campaign.max_attempts - selectors.annotator_failed_attempts(annotator), 0)
    median = selectors.annotator_median_seconds(annotator)
    return {
        "missed": selectors.annotator_last_misses(annotator),
        "attempts_left": remaining,
        "redo_minutes": max(round(campaign.videos_per_session * median / 60), 1) if median is not None else None,
        "leave_url": platforms.leave_url_for(annotator),
    }


@annotator_page()
def done(request, annotator, progress):
    if selectors.annotator_qualified_sessions(annotator) == 0:
        return step_redirect(annotator.campaign.slug, progress.step)
    return render(request, "annotation/done.html", {
        "campaign": annotator.campaign,
        "completion": platforms.completion_for(annotator),
        "another": progress.step == Step.LECTURE,
    })


def closed(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug)
    language.activate(request, campaign)
    return error_page(request, ApplicationError("campaign_closed", gettext("This study is closed. Thank you for your interest."),
                                                status=200), campaign)


@require_POST
def language_choose(request, slug):
    """The language switcher of a campaign that lets annotators choose: keeps the choice in their
    session and goes back to the page it came from (a page of this site only)."""
    campaign = get_object_or_404(Campaign, slug=slug)
    language.choose(request, campaign, request.POST.get("language", ""))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("annotation:entry", kwargs={"slug": slug})
    return redirect(back)


# --- Researchers ------------------------------------------------------------------------------


@campaign_page(Action.VIEW)
def campaign_status_page(request, campaign):
    checklist = selectors.campaign_readiness(campaign)
    return render(request, "annotation/status.html", {
        "campaign": campaign, "status": selectors.campaign_status(campaign),
        "checklist": checklist, "ready": all(item.ok for item in checklist),
    })


class CampaignStatusApi(APIView):
    """Campaign progress as JSON for scripts and dashboards (members who may view the campaign)."""

    permission_classes = [CampaignAccess]

    def get(self, request, slug):
        return Response(selectors.campaign_status(self.campaign).as_dict())


def home(request):
    """The site root: a neutral page. It lists no study, so that nobody joins one without its own
    link (a crowd platform's, or the lab's); signed-in researchers get a link to /staff/. In the
    browser's language, as no campaign sets one."""
    language.use(request, language.browser_language(request))
    return render(request, "annotation/home.html")


@login_required
def staff_home(request):
    """The campaigns the signed-in researcher may view, with their dashboards, status pages and admin."""
    campaigns = access.campaigns_visible(request.user).order_by("title")
    return render(request, "annotation/staff_home.html", {"campaigns": campaigns})
