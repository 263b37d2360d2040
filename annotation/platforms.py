"""Crowd platforms, each defined once: how an identity is read from the request, how a preview is
detected, and how completion is reported back.

Prolific, MTurk, a lab login and the open link are the entries of `PLATFORMS`, tried in that order
on entry. Adding a platform is one `Platform` subclass registered with `register` (a source value of
`Annotator.Source` each), and its tests (tests/annotation/test_platforms.py).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from . import rules
from .models import Annotator, Campaign

# Crowd ids and their companions: letters, digits and a few separators, anchored (\Z: no newline).
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")
_PARAM_MAX = 256


@dataclass(frozen=True)
class Identity:
    """Who an annotator is on their platform: the platform (`Annotator.Source`), its id for them, and
    the platform's other parameters kept for the completion step."""

    source: str
    external_id: str
    platform_params: dict


@dataclass(frozen=True)
class Completion:
    """How the thank-you page hands a qualified annotator back: the code to show, and where to go,
    by a link (`method` "get") or by a form posted to the platform (`method` "post", with `fields`)."""

    code: str = ""
    url: str = ""
    method: str = "get"
    fields: dict = field(default_factory=dict)


class Platform:
    """One way people arrive. Subclasses set `source` and override what differs."""

    source: str = ""
    # Where someone who stops without qualifying goes back to (the disqualified page's exit); "" for none.
    # No completion code goes with it: the code is for qualified people only.
    leave_url: str = ""

    def identity(self, params: Mapping[str, str], user) -> Identity | None:
        """The identity this platform reads from the request's query `params` (and `user`); None when
        the request does not come from this platform."""
        return None

    def is_preview(self, params: Mapping[str, str]) -> bool:
        """Whether the request is the platform's preview of the task, which must create nobody."""
        return False

    def resumes(self, stored: Mapping[str, str], presented: Mapping[str, str]) -> bool:
        """Whether parameters `presented` from a new browser prove they come from the person whose
        platform parameters are `stored` (beyond the worker id, which others can learn)."""
        return False

    def completion(self, campaign: Campaign, annotator: Annotator) -> Completion:
        """How a qualified annotator of this platform is sent back: the campaign's code and link."""
        return Completion(code=campaign.completion_code, url=campaign.completion_redirect_url)


def _checked(source: str, external_id: str, params: Mapping[str, str], names: tuple[str, ...]) -> Identity:
    """An Identity of `source` with the named companion parameters present in `params`; raises the
    BAD_EXTERNAL_ID rule's error when the id or a companion is not of the accepted form."""
    extra = {name: params[name] for name in names if params.get(name)}
    if not _EXTERNAL_ID.match(external_id) or any(len(value) > _PARAM_MAX for value in extra.values()):
        raise rules.BAD_EXTERNAL_ID.error()
    return Identity(source, external_id, extra)


class Prolific(Platform):
    """Prolific sends PROLIFIC_PID, STUDY_ID and SESSION_ID; completion redirects with the code."""

    source = Annotator.Source.PROLIFIC
    # Prolific asks participants who cannot complete to return the study from their dashboard.
    leave_url = "https://app.prolific.com/"
    COMPLETE_URL = "https://app.prolific.com/submissions/complete"

    def identity(self, params, user):
        if not params.get("PROLIFIC_PID"):
            return None
        return _checked(self.source, params["PROLIFIC_PID"], params, ("STUDY_ID", "SESSION_ID"))

    def resumes(self, stored, presented):
        """The same SESSION_ID: Prolific gives each submission its own, in the participant's link."""
        return bool(stored.get("SESSION_ID")) and stored.get("SESSION_ID") == presented.get("SESSION_ID")

    def completion(self, campaign, annotator):
        url = campaign.completion_redirect_url
        if not url and campaign.completion_code:
            url = f"{self.COMPLETE_URL}?{urlencode({'cc': campaign.completion_code})}"
        return Completion(code=campaign.completion_code, url=url)


class MTurk(Platform):
    """MTurk sends workerId, assignmentId, hitId and turkSubmitTo; a preview carries the assignment id
    ASSIGNMENT_ID_NOT_AVAILABLE; completion posts the assignment to turkSubmitTo's externalSubmit."""

    source = Annotator.Source.MTURK
    PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"
    # Where a HIT may be submitted: the live site and the sandbox, nothing a stranger's link could name.
    SUBMIT_HOSTS = {"www.mturk.com", "workersandbox.mturk.com"}

    def identity(self, params, user):
        if not params.get("workerId"):
            return None
        return _checked(self.source, params["workerId"], params, ("assignmentId", "hitId", "turkSubmitTo"))

    def is_preview(self, params):
        return params.get("assignmentId") == self.PREVIEW_ASSIGNMENT

    def resumes(self, stored, presented):
        """The same assignment: MTurk gives it to the worker who accepted the HIT."""
        return bool(stored.get("assignmentId")) and stored.get("assignmentId") == presented.get("assignmentId")

    def completion(self, campaign, annotator):
        stored = annotator.platform_params or {}
        submit_to = urlsplit(stored.get("turkSubmitTo", "https://www.mturk.com"))
        if submit_to.scheme != "https" or submit_to.hostname not in self.SUBMIT_HOSTS:
            submit_to = urlsplit("https://www.mturk.com")
        if not stored.get("assignmentId"):
            return super().completion(campaign, annotator)
        return Completion(
            code=campaign.completion_code,
            url=f"https://{submit_to.hostname}/mturk/externalSubmit",
            method="post",
            fields={"assignmentId": stored["assignmentId"], "completion_code": campaign.completion_code or "done"},
        )


class Lab(Platform):
    """A signed-in lab member: their account binds, whatever browser."""

    source = Annotator.Source.LAB

    def identity(self, params, user):
        if user is None or not user.is_authenticated:
            return None
        return Identity(self.source, str(user.pk), {"username": user.get_username()})

    def resumes(self, stored, presented):
        """The login itself is the proof: `identity` reads the signed-in user."""
        return True


class OpenLink(Platform):
    """The plain link: no identity; the browser's cookie binds."""

    source = Annotator.Source.LINK


PLATFORMS: dict[str, Platform] = {}


def register(platform: Platform) -> Platform:
    """Add `platform` to the registry, after those already there; refuses a source registered twice."""
    if platform.source in PLATFORMS:
        raise ValueError(f"platform {platform.source!r} is registered already")
    if platform.source not in Annotator.Source.values:
        raise ValueError(f"platform {platform.source!r} is not a value of Annotator.Source")
    PLATFORMS[platform.source] = platform
    return platform


for _platform in (Prolific(), MTurk(), Lab(), OpenLink()):
    register(_platform)


def identity_from_request(params: Mapping[str, str], user) -> Identity | None:
    """The annotator's identity from the first platform that recognises the request; None for an open
    link. A crowd platform's own id binds: a returning worker resumes, whatever browser."""
    for platform in PLATFORMS.values():
        identity = platform.identity(params, user)
        if identity is not None:
            return identity
    return None


def is_preview(params: Mapping[str, str]) -> bool:
    """Whether some platform says this request is its preview of the task."""
    return any(platform.is_preview(params) for platform in PLATFORMS.values())


def leave_url_for(annotator: Annotator) -> str:
    """Where this annotator's platform takes them back when they stop without qualifying ("" for none)."""
    return PLATFORMS[annotator.source].leave_url


def completion_for(annotator: Annotator) -> Completion:
    """How this annotator's platform takes them back once qualified."""
    return PLATFORMS[annotator.source].completion(annotator.campaign, annotator)
