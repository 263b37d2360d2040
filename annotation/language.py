"""The language of the annotator pages: the campaign's (`Campaign.language`), or the annotator's own
choice where the campaign lets them choose. Every other page (staff, admin, the API) is in English.

Every request starts in English (`EnglishUnlessAskedMiddleware`); an annotator page switches to its
campaign's language with `activate`, which also keeps the language in the person's session, so the
rating endpoint (sent forty times a session, and answering with messages the page shows) reads it
there instead of loading the campaign again (`activate_from_session`).

What is translated is the platform's own text (locale/): page text, the grade names, the forms and
every rule's message. What the researchers wrote (title, consent, lecture, the grade-5 sentence,
the demo videos' reasons) is shown as written, in the language they wrote it in; the default
lecture, if left unchanged, is shown translated. What annotators type is never translated.
"""
from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext

from . import rules
from .models import DEFAULT_LECTURE, Campaign

SUPPORTED = frozenset(code for code, _ in settings.LANGUAGES)


def session_key(slug: str) -> str:
    return f"language:{slug}"


def browser_language(request) -> str:
    """The supported language the browser asks for first (Accept-Language: zh-CN gives zh-hans), else English."""
    request.language_from_browser = True
    return translation.get_language_from_request(request)


def language_of(request, campaign: Campaign) -> str:
    """The language of `campaign`'s annotator pages for this request: the campaign's own; where the
    annotator chooses, the one they chose (kept in their session), else their browser's."""
    if campaign.language != Campaign.Language.CHOICE:
        return campaign.language if campaign.language in SUPPORTED else settings.LANGUAGE_CODE
    chosen = request.session.get(session_key(campaign.slug))
    return chosen if chosen in SUPPORTED else browser_language(request)


def use(request, code: str) -> None:
    """Speak `code` for the rest of this request."""
    translation.activate(code)
    request.LANGUAGE_CODE = code


def activate(request, campaign: Campaign) -> str:
    """Speak `campaign`'s annotator language for the rest of this request; returns it. Kept in the
    session of a person who has one (nothing is stored for a visitor the site does not know yet)."""
    code = language_of(request, campaign)
    use(request, code)
    request.language_choice = campaign.language == Campaign.Language.CHOICE  # base.html shows the switcher
    key = session_key(campaign.slug)
    if request.session.get(key) != code and not request.session.is_empty():
        request.session[key] = code
    return code


def activate_from_session(request, slug: str) -> str:
    """The language `activate` last kept for this campaign's pages (English if none): for the rating endpoint."""
    code = request.session.get(session_key(slug))
    use(request, code if code in SUPPORTED else settings.LANGUAGE_CODE)
    return request.LANGUAGE_CODE


def choose(request, campaign: Campaign, code: str) -> bool:
    """The annotator picks `code` on a campaign that lets them choose; False (nothing kept) otherwise."""
    if campaign.language != Campaign.Language.CHOICE or code not in SUPPORTED:
        return False
    request.session[session_key(campaign.slug)] = code
    return True


def lecture_text(campaign: Campaign) -> str:
    """The campaign's lecture as annotators read it: the researchers' text, or the default one translated."""
    return gettext(DEFAULT_LECTURE) if campaign.lecture_text == DEFAULT_LECTURE else campaign.lecture_text


def rate_page_texts(campaign: Campaign) -> dict:
    """What the rating page's script shows, in the active language (the page passes it as a JSON element:
    no inline script under the CSP). The reason-length messages are the rule's own, so the page and the
    server say the same; `han_weight` lets the script count a reason as `rules.visible_length` does."""
    def too_short(score: int) -> str:
        params = rules.submit_message_params(score=score, timeout_minutes=campaign.session_timeout_minutes,
                                             min_reason_length=campaign.min_reason_length)
        return rules.SUBMIT_REASON.error(**params).message

    return {
        "reason_label": gettext("Why? Describe what you see."),
        "reason_label_5": gettext("Describe the person in the video."),
        "grade_missing": str(rules.SUBMIT_SCORE.message),
        "too_short": too_short(1),
        "too_short_5": too_short(5),
        "save": gettext("Save and next"),
        "saving": gettext("Saving…"),
        "server_error": gettext("The server answered with an error ({status}). Your answer is still here: press Save again."),
        "not_saved": gettext("Your answer could not be saved. Press Save again."),
        "offline": gettext("Connection lost: your answer was not saved yet. It is still here; check your connection "
                           "and press Save again."),
        "han_weight": rules.HAN_WEIGHT,
    }


class EnglishUnlessAskedMiddleware:
    """Every request starts in English and ends with the thread's language reset, so a page that
    activates none (staff pages, the admin, the API) is English whatever the thread served before.
    The response says its language (Content-Language)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        use(request, settings.LANGUAGE_CODE)
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        if getattr(request, "language_from_browser", False):
            patch_vary_headers(response, ["Accept-Language"])
        return response
