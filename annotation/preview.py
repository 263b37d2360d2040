"""Preview: a researcher walks consent, lecture, rating and review of a campaign without recording anything.

Design: the walk is a fake attempt kept in the researcher's own Django session (the signed cookie,
`SESSION_ENGINE`), never in the database: a sample of the campaign's videos drawn as a session
would be (regular videos and checkers, shuffled) and the grades given so far. No Annotator,
AnnotationSession, Attempt or Rating row is written and no video counter moves, so a preview
cannot skew assignment or the analysis. The pages are the annotators' own templates; the answers
pass the same checks as real ones (`rules.SUBMIT_SCORE`, `rules.SUBMIT_REASON`) and the finish
applies the checker rule, but the result is only shown. A reason is kept to its first
`REASON_KEPT` characters so that forty answers fit the 4 KB cookie.

Only a signed-in member who may view the campaign (`Action.VIEW`) gets a preview: every view is
guarded by `campaign_page`, so an annotator following `?preview=1` is sent to log in.
"""
from __future__ import annotations

import json
import random

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from . import language, rules, selectors
from .access import Action
from .assignment import shuffled
from .checkers import attempt_qualifies
from .forms import ConsentForm
from .guards import campaign_page
from .models import GRADES, REASON_EXAMPLE, REASON_SUGGESTION, Campaign, Video
from .selectors.pages import RatingItem, video_media

REASON_KEPT = 40
_rng = random.SystemRandom()


def _key(campaign: Campaign) -> str:
    return f"preview:{campaign.slug}"


def preview_order(campaign: Campaign) -> list[int]:
    """A session's worth of the campaign's videos with a file, drawn at random and shuffled; returns their ids."""
    with_file = campaign.videos.exclude(file="")
    regular = list(with_file.filter(role=Video.Role.REGULAR).values_list("id", flat=True))
    checkers = list(with_file.filter(role=Video.Role.CHECKER).values_list("id", flat=True))
    picked = _rng.sample(regular, min(campaign.regular_per_session, len(regular)))
    picked += _rng.sample(checkers, min(campaign.checkers_per_session, len(checkers)))
    return shuffled(picked, _rng)


def _state(request, campaign: Campaign) -> dict | None:
    return request.session.get(_key(campaign))


def _save(request, campaign: Campaign, state: dict) -> None:
    request.session[_key(campaign)] = state


@campaign_page(Action.VIEW)
def preview_start(request, campaign):
    """Start (or restart) a preview: a fresh fake attempt, then the consent page."""
    _save(request, campaign, {"order": preview_order(campaign), "answers": {}, "lecture": False})
    return redirect("annotation:preview_consent", slug=campaign.slug)


def _walk(view):
    """A preview page: the campaign for VIEW and the preview state, or back to the start."""

    @campaign_page(Action.VIEW)
    def wrapper(request, campaign, *args, **kwargs):
        language.activate(request, campaign)  # the annotators' language: the preview shows their pages
        state = _state(request, campaign)
        if state is None:
            return redirect("annotation:preview_start", slug=campaign.slug)
        return view(request, campaign, state, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@require_http_methods(["GET", "POST"])
@_walk
def preview_consent(request, campaign, state):
    """The consent page as annotators see it; agreeing records nothing."""
    text = selectors.campaign_current_consent(campaign)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect("annotation:preview_lecture", slug=campaign.slug)
    return render(request, "annotation/consent.html", {
        "campaign": campaign, "consent": text, "form": form, "preview": True,
    })


@require_http_methods(["GET", "POST"])
@_walk
def preview_lecture(request, campaign, state):
    """The lecture as annotators see it; its start button opens the preview's rating page."""
    if request.method == "POST":
        state["lecture"] = True
        _save(request, campaign, state)
        return redirect("annotation:preview_rate", slug=campaign.slug)
    demos = selectors.demo_videos(campaign)
    return render(request, "annotation/lecture.html", {
        "campaign": campaign, "preview": True,
        "paragraphs": [p for p in language.lecture_text(campaign).split("\n\n") if p.strip()],
        "grades": [{"grade": g, "name": n, "definition": d, "demo": demos.get(g)} for g, (n, d) in GRADES.items()],
        "reason_suggestion": REASON_SUGGESTION, "repeat": False, "total": len(state["order"]),
    })


class _Answer:
    """What the rating template reads of a stored answer."""

    def __init__(self, score: int, reason: str):
        self.score, self.typed_reason = score, reason


def _item(state: dict, position: int) -> RatingItem:
    answers = state["answers"]
    given = answers.get(str(position))
    return RatingItem(
        attempt=None, position=position, total=len(state["order"]), rated_count=len(answers),
        media=video_media(state["order"][position - 1]), rating=_Answer(*given) if given else None,
        token=str(position),
    )


def _next_position(state: dict) -> int | None:
    for position in range(1, len(state["order"]) + 1):
        if str(position) not in state["answers"]:
            return position
    return None


@require_http_methods(["GET"])
@_walk
def preview_rate(request, campaign, state):
    """The rating page, its answers sent to `preview_answer`."""
    if not state["lecture"]:
        return redirect("annotation:preview_lecture", slug=campaign.slug)
    if not state["order"]:
        return render(request, "annotation/error.html", {
            "campaign": campaign, "preview": True, "error": rules.CAMPAIGN_NOT_READY.error()}, status=503)
    last_allowed = _next_position(state) or len(state["order"])
    try:
        position = int(request.GET.get("position", last_allowed))
    except ValueError:
        position = last_allowed
    position = min(max(position, 1), last_allowed)
    return render(request, "annotation/rate.html", {
        "campaign": campaign, "preview": True, "item": _item(state, position),
        "submit_url": reverse("annotation:preview_answer", kwargs={"slug": campaign.slug}),
        "grades": [{"grade": g, "name": n, "definition": d} for g, (n, d) in GRADES.items()],
        "reason_example": REASON_EXAMPLE,
        "texts": language.rate_page_texts(campaign),
    })


@require_POST
@_walk
def preview_answer(request, campaign, state):
    """The rating page's answer, checked as a real one and kept in the preview state only."""
    try:
        data = json.loads(request.body)
        position, score, reason = int(data["token"]), int(data["score"]), str(data.get("reason", "")).strip()
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"code": "invalid", "error": gettext("The answer could not be read. Reload the page.")}, status=400)
    checks = {rules.SUBMIT_POSITION.name: 1 <= position <= len(state["order"]),
              rules.SUBMIT_SCORE.name: score in rules.GRADES,
              rules.SUBMIT_REASON.name: rules.visible_length(reason) >= campaign.min_reason_length}
    refused = rules.first_refused((rules.SUBMIT_POSITION, rules.SUBMIT_SCORE, rules.SUBMIT_REASON), checks)
    if refused is not None:
        error = refused.error(**rules.submit_message_params(
            score=score, timeout_minutes=campaign.session_timeout_minutes, min_reason_length=campaign.min_reason_length))
        return JsonResponse(error.as_dict(), status=error.status)
    state["answers"][str(position)] = [score, reason[:REASON_KEPT]]
    _save(request, campaign, state)
    following = _next_position(state)
    if following is None:
        return JsonResponse({"saved": position, "redirect": reverse("annotation:preview_review", kwargs={"slug": campaign.slug})})
    return JsonResponse({"saved": position, "item": _item(state, following).as_public_dict()})


@require_http_methods(["GET", "POST"])
@_walk
def preview_review(request, campaign, state):
    """The review page; Finish applies the checker rule and shows what an annotator's outcome would be."""
    answers = state["answers"]
    if request.method == "POST" and _next_position(state) is None:
        videos = Video.objects.in_bulk(state["order"])
        checked = [(answers[str(p)][0], videos[v].gold_score) for p, v in enumerate(state["order"], start=1)
                   if videos[v].role == Video.Role.CHECKER]
        qualified = attempt_qualifies([s for s, _ in checked], [g for _, g in checked], campaign.checker_tolerance)
        request.session.pop(_key(campaign), None)
        return render(request, "annotation/preview_done.html", {"campaign": campaign, "preview": True, "qualified": qualified})
    rows = [{"position": p, "score": answers.get(str(p), [None, ""])[0], "reason": answers.get(str(p), [None, ""])[1],
             "poster_url": video_media(state["order"][p - 1]).poster_url}
            for p in range(1, len(state["order"]) + 1)]
    return render(request, "annotation/review.html", {
        "campaign": campaign, "preview": True, "attempt": {"number": 1}, "rows": rows,
        "rate_url": reverse("annotation:preview_rate", kwargs={"slug": campaign.slug}),
        "missing": sum(r["score"] is None for r in rows), "error": None,
    })
