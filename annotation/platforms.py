"""Crowd platforms, each defined once: how an identity is read from the request, how a preview is
detected, and how completion is reported back.

Prolific, MTurk, a lab login and the open link are the entries of `PLATFORMS`, tried in that order
on entry. Adding a platform is one `Platform` subclass registered with `register` (a source value of
`Annotator.Source` each), and its tests (tests/annotation/test_platforms.py).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from . import rules
from .models import Annotator, Campaign

# Each platform's ids, matched whole (`fullmatch`: Python's `$` would let a trailing newline through).
# Prolific's participant, study and session ids are MongoDB ObjectIds: 24 lowercase hex digits.
_PROLIFIC_ID = re.compile(r"[0-9a-f]{24}")
# MTurk's API reference gives every id 1 to 64 characters; a worker id matches ^A[A-Z0-9]+$, an
# assignment or HIT id ^[A-Z0-9]+$ (seen: 13-21 and 30 characters; the documentation's own example
# assignment id has 40).
_MTURK_WORKER_ID = re.compile(r"A[A-Z0-9]{1,63}")
_MTURK_ID = re.compile(r"[A-Z0-9]{1,64}")
# Where MTurk says to submit: an https URL of no odd characters (`completion` then accepts MTurk's hosts only).
_MTURK_SUBMIT_TO = re.compile(r"https://[A-Za-z0-9.-]{1,100}/?")
# A lab member is their account's primary key.
_LAB_ID = re.compile(r"[0-9]{1,20}")
# An open-link person is a random URL-safe token drawn at entry (`OpenLink.identity_new`: 22 characters).
_LINK_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


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
    # The form of each query parameter this platform reads, the id first; one out of form is refused
    # (`rules.BAD_EXTERNAL_ID`) and none is stored.
    id_formats: dict[str, re.Pattern] = {}
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


    def checked(self, params: Mapping[str, str]) -> Identity:
        """The Identity in `params`: the first name of `id_formats` is the id, the others (those
        present) its companions; raises BAD_EXTERNAL_ID's error naming the first one out of form."""
        for name, form in self.id_formats.items():
            value = params.get(name)
            if value is not None and (not isinstance(value, str) or not form.fullmatch(value)):
                raise rules.BAD_EXTERNAL_ID.error(name=name, platform=Annotator.Source(self.source).label)
        id_name, *companions = self.id_formats
        return Identity(self.source, params[id_name], {name: params[name] for name in companions if params.get(name)})


class Prolific(Platform):
    """Prolific sends PROLIFIC_PID, STUDY_ID and SESSION_ID; completion redirects with the code."""

    source = Annotator.Source.PROLIFIC
    id_formats = {"PROLIFIC_PID": _PROLIFIC_ID, "STUDY_ID": _PROLIFIC_ID, "SESSION_ID": _PROLIFIC_ID}
    # Prolific asks participants who cannot complete to return the study from their dashboard.
    leave_url = "https://app.prolific.com/"
    COMPLETE_URL = "https://app.prolific.com/submissions/complete"

    def identity(self, params, user):
        if not params.get("PROLIFIC_PID"):
            return None
        return self.checked(params)

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
    id_formats = {"workerId": _MTURK_WORKER_ID, "assignmentId": _MTURK_ID, "hitId": _MTURK_ID, "turkSubmitTo": _MTURK_SUBMIT_TO}
    PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"
    # Where a HIT may be submitted: the live site and the sandbox, nothing a stranger's link could name.
    SUBMIT_HOSTS = {"www.mturk.com", "workersandbox.mturk.com"}

    def identity(self, params, user):
        if not params.get("workerId"):
            return None
        return self.checked(params)

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
    id_formats = {"id": _LAB_ID}

    def identity(self, params, user):
        if user is None or not user.is_authenticated:
            return None
        identity = self.checked({"id": str(user.pk)})
        return Identity(self.source, identity.external_id, {"username": user.get_username()})

    def resumes(self, stored, presented):
        """The login itself is the proof: `identity` reads the signed-in user."""
        return True


class OpenLink(Platform):
    """The plain link: no identity; the browser's cookie binds."""

    source = Annotator.Source.LINK
    id_formats = {"id": _LINK_ID}

    def identity_new(self) -> Identity:
        """A new person of the open link: a random id, kept in their browser's session until they consent."""
        return self.checked({"id": secrets.token_urlsafe(16)})


PLATFORMS: dict[str, Platform] = {}


def register(platform: Platform) -> Platform:
    """Add `platform` to the registry, after those already there; refuses a source registered twice."""
    if platform.source in PLATFORMS:
        raise ValueError(f"platform {platform.source!r} is registered already")
    if platform.source not in Annotator.Source.values:
        raise ValueError(f"platform {platform.source!r} is not a value of Annotator.Source")
    PLATFORMS[platform.source] = platform
    return platform


OPEN_LINK = OpenLink()
for _platform in (Prolific(), MTurk(), Lab(), OPEN_LINK):
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
