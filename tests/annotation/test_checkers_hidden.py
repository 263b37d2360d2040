"""An annotator cannot tell a checker from a regular video: not by order, file names, URLs, response
sizes, headers or caching, nor by what the rating API answers after a checker."""
from __future__ import annotations

import re
import statistics

import pytest

from annotation.models import Attempt, Video

from .. import ids
from .test_views import post_answer, token_of, walk_to_rating

pytestmark = pytest.mark.django_db

HEADERS = ("Content-Type", "Cache-Control", "Accept-Ranges", "X-Frame-Options", "Content-Security-Policy")


def shape(text: str) -> str:
    """A response with every value that differs per video or per request masked."""
    text = re.sub(r"[0-9a-f]{64}", "<hash>", text)
    text = re.sub(r'value="[^"]*:[^"]*"', 'value="<token>"', text)
    text = re.sub(r'"token": ?"[^"]*"', '"token": "<token>"', text)
    text = re.sub(r'<a id="back-link"[^>]*>', "<back-link>", text)  # the first position has no way back
    return re.sub(r"\d+", "<n>", text)


def test_checkers_are_served_exactly_like_regular_videos(client, make_campaign):
    make_campaign()
    walk_to_rating(client)
    attempt = Attempt.objects.get()
    roles = dict(Video.objects.filter(pk__in=attempt.video_order).values_list("pk", "role"))
    pages, media, answers = {}, {}, {}
    for position, video_id in enumerate(attempt.video_order, start=1):
        role = roles[video_id]
        page = client.get("/c/study/rate/", {"position": position})
        pages.setdefault(role, set()).add(shape(page.content.decode()))
        video_url = re.search(r'src="(/media/videos/[^"]+)"', page.content.decode()).group(1)
        assert re.fullmatch(r"/media/videos/[0-9a-f]{64}\.mp4", video_url)
        served = client.get(video_url, HTTP_RANGE="bytes=0-99")
        media.setdefault(role, set()).add(tuple(served.get(h) for h in HEADERS) + (served.status_code,))
        answer = post_answer(client, {"token": token_of(page.content.decode()), "score": "3", "reason": "the mouth is blurry"})
        body = answer.content.decode()
        if position < len(attempt.video_order):  # the last answer says where to go instead of the next video
            answers.setdefault(role, []).append((answer.status_code, tuple(sorted(answer.json())), len(shape(body))))
    assert set(roles.values()) == {Video.Role.REGULAR, Video.Role.CHECKER}
    # Every rating page, checker or not, is the same page once per-video values are masked.
    assert pages[Video.Role.CHECKER] <= pages[Video.Role.REGULAR] and len(pages[Video.Role.REGULAR]) == 1
    assert media[Video.Role.CHECKER] == media[Video.Role.REGULAR] and len(media[Video.Role.REGULAR]) == 1
    regular_answers = {a[:2] for a in answers[Video.Role.REGULAR]}
    assert {a[:2] for a in answers[Video.Role.CHECKER]} <= regular_answers
    sizes = {role: statistics.mean(a[2] for a in rows) for role, rows in answers.items()}
    assert abs(sizes[Video.Role.CHECKER] - sizes[Video.Role.REGULAR]) < 1


def test_checker_positions_are_not_predictable_across_annotators(client, make_campaign):
    make_campaign()
    positions = []
    for pid in ("PA", "PB", "PC", "PD", "PE", "PF"):
        walk_to_rating(client, pid=pid)
        attempt = Attempt.objects.get(session__annotator__external_id=ids.prolific(pid))
        checkers = set(Video.objects.filter(pk__in=attempt.video_order, role=Video.Role.CHECKER).values_list("pk", flat=True))
        positions.append(tuple(i for i, v in enumerate(attempt.video_order, start=1) if v in checkers))
        client.cookies.clear()
    assert all(len(p) == 5 for p in positions) and len(set(positions)) == len(positions)
