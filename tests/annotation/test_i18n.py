"""Every annotator page in English and Simplified Chinese: the catalog, the campaign's language, the
annotator's choice, Chinese reasons against the length rule, and a journey in Chromium in Chinese."""
from __future__ import annotations

import gettext
import json
import re
import shutil
import statistics
import string
import subprocess
from html.parser import HTMLParser

import pytest
from django.utils import translation

from annotation import rules
from annotation.models import Annotator, Attempt, Campaign, ConsentText, Video

from ..conftest import ARTIFACTS, ROOT
from ..roles import researcher
from .test_browser import page, wait_until, take_lecture  # noqa: F401 (fixtures and helpers of the journeys)

PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Latin words a Chinese page may show: names of things, keys as printed on keyboards, and the switcher's "English".
LATIN_ALLOWED = {"English", "deepfake", "JavaScript", "JSON", "Cookie", "Ctrl", "Enter", "Mac"}


# --- The catalog ------------------------------------------------------------------------------


def _msgfmt() -> str:
    found = shutil.which("msgfmt")
    if found is None:
        pytest.fail("msgfmt not found: install gettext (.ci/services does)")
    return found


def test_committed_catalog_is_the_compiled_po_with_every_message_translated(tmp_path):
    """The .mo the site loads is the .po as it stands (compiled with `make messages`), and the .po has
    no fuzzy and no empty translation: msgfmt --check also holds each placeholder to its msgid's."""
    compiled = tmp_path / "django.mo"
    result = subprocess.run([_msgfmt(), "--check", "--statistics", "-o", str(compiled), str(PO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr
    with open(compiled, "rb") as fresh, open(MO, "rb") as committed:
        fresh_catalog, committed_catalog = gettext.GNUTranslations(fresh)._catalog, gettext.GNUTranslations(committed)._catalog
    assert committed_catalog == fresh_catalog, "locale/zh_Hans/LC_MESSAGES/django.mo is stale: run `make messages`"
    assert len(fresh_catalog) > 150 and all(fresh_catalog.values())


def _rule_params(rule: rules.Rule) -> dict:
    """What `rule`'s message names: the submit rules' own parameters, and 1 for any other field (the
    researchers' refusals name sizes, files and folders)."""
    params = {**rules.submit_message_params(score=1, timeout_minutes=120, min_reason_length=10), "missing": 2,
              "platform": "Prolific", "name": "PROLIFIC_PID"}
    fields = {field for _, field, _, _ in string.Formatter().parse(str(rule.message)) if field}
    return {**{field: 1 for field in fields}, **params}


def test_every_rule_message_is_a_plain_string_in_the_active_language():
    table = [value for value in vars(rules).values() if isinstance(value, rules.Rule)]
    assert len(table) > 20
    for rule in table:
        if rule in rules.RESEARCHERS_ONLY:  # researchers' pages stay English: a plain string, never translated
            assert type(rule.message) is str, rule.name
            continue
        with translation.override("zh-hans"):
            chinese = rule.error(**_rule_params(rule)).message
        english = rule.error(**_rule_params(rule)).message  # outside any override: English
        assert type(chinese) is str and type(english) is str, rule.name
        assert HAN.search(chinese) and not HAN.search(english), (rule.name, chinese, english)
    with translation.override("zh-hans"):
        message = rules.SUBMIT_REASON.error(**rules.submit_message_params(score=5, timeout_minutes=1, min_reason_length=10)).message
    assert message == "请至少用 4 个汉字（或 10 个英文字母）描述视频中的人物。"


# --- Chinese reasons and the length rule ----------------------------------------------------------

# Reasons an annotator might write, each with its translation (the measurement behind rules.HAN_WEIGHT).
REASON_PAIRS = [
    ("The whole face flickers dramatically and the mouth movement looks unnatural", "整张脸闪烁得很厉害，嘴部动作看起来不自然"),
    ("The mouth is blurry", "嘴部模糊"),
    ("There is a visible seam around the face", "脸部周围有明显的接缝"),
    ("The eyes look slightly stiff", "眼睛看起来有点僵硬"),
    ("The skin colour of the face does not match the neck", "脸部肤色和脖子不一致"),
    ("The teeth are blurred when she talks", "她说话时牙齿很模糊"),
    ("The face shakes a little when the head turns", "转头时脸部有轻微抖动"),
    ("A man with short black hair and a blue shirt", "一个穿蓝衬衫的黑色短发男人"),
    ("The lighting on the face is different from the background", "脸上的光照和背景不一致"),
    ("The contour of the chin is distorted", "下巴轮廓变形"),
    ("Ghosting around the eyebrows", "眉毛周围有重影"),
    ("The forehead looks too smooth, like a mask", "额头看起来太光滑，像面具一样"),
    ("No obvious problem, but the expression is a bit stiff", "没有明显问题，但表情有点僵硬"),
    ("Mosaic blocks appear on the cheeks", "脸颊上出现马赛克色块"),
    ("The nose moves separately from the face", "鼻子和脸的运动不同步"),
    ("A young woman with long hair, smiling", "一位长发的年轻女性，面带微笑"),
]


def test_a_chinese_reason_counts_about_as_much_as_its_english_translation():
    ratios = [rules.visible_length(zh) / rules.visible_length(en) for en, zh in REASON_PAIRS]
    assert 0.8 <= statistics.median(ratios) <= 1.2, ratios
    assert all(0.5 <= r <= 1.5 for r in ratios), ratios
    # Unweighted, a Chinese reason would count a third of its English one.
    assert statistics.median(len(zh) / rules.visible_length(en) for en, zh in REASON_PAIRS) < 0.4


def test_visible_length_weights_han_ideographs_only():
    # Against the default minimum of 10: "blurry" (6) and "模糊" (6) fall short; "mouth blurry" (11) and "嘴部模糊" (12) pass.
    assert rules.visible_length("模糊") == rules.visible_length("blurry") == 6
    assert rules.visible_length("嘴部模糊") == 12 and rules.visible_length("mouth blurry") == 11
    assert rules.visible_length("嘴部\u200b模糊，。") == 14  # zero-width space: nothing; full-width punctuation: 1 each
    assert rules.visible_length("口がぼやけ") == 3 + 4  # the kanji counts 3, kana 1 each
    assert rules.visible_length("𠀋𠀋") == 6  # extension B
    assert rules.han_minimum(10) == 4 and rules.han_minimum(9) == 3


# --- Pages ------------------------------------------------------------------------------------


class _Visible(HTMLParser):
    """A page's text as a person meets it: text outside scripts and styles, the attributes a browser
    shows or reads out, and the strings of its JSON elements (what its scripts show)."""

    SHOWN = {"placeholder", "title", "alt", "aria-label", "data-left", "data-watched"}

    def __init__(self):
        super().__init__()
        self.texts, self._in = [], None

    def handle_starttag(self, tag, attrs):
        self._in = tag if tag in ("script", "style") else None
        self._json = tag == "script" and ("type", "application/json") in attrs
        for name, value in attrs:
            shown = name in self.SHOWN or (name == "value" and tag == "input" and dict(attrs).get("type") in ("submit", "button"))
            if shown and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script" and self._json:
            self.texts.extend(v for v in json.loads(data).values() if isinstance(v, str))
        elif self._in is None and data.strip():
            self.texts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.texts


def english_fragments() -> set[str]:
    """The English of every message of the catalog, cut at its placeholders and tags into pieces of
    three words or more: none may show on a Chinese page."""
    with open(MO, "rb") as handle:
        msgids = [key[0] if isinstance(key, tuple) else key for key in gettext.GNUTranslations(handle)._catalog]
    pieces = set()
    for msgid in msgids:
        for piece in re.split(r"%\(\w+\)s|\{\w+\}|<[^>]+>|\n", msgid):
            if len(piece.split()) >= 3:
                pieces.add(piece.strip())
    return pieces


def assert_chinese(html: str, allowed: set[str] = frozenset()):
    """No English of the platform's on the page: no catalog message, and no Latin word but names and
    the campaign's own texts (`allowed`)."""
    assert '<html lang="zh-hans">' in html
    texts = visible_text(html)
    joined = "\n".join(texts)
    left = [piece for piece in english_fragments() if piece in joined]
    assert left == [], left
    words = {w for text in texts for w in re.findall(r"[A-Za-z]{2,}", re.sub(r"\{\w+\}", "", text))}  # {n}: the script's
    words -= LATIN_ALLOWED | set(allowed)
    assert words == set(), (words, joined)
    assert HAN.search(joined)


@pytest.fixture
def chinese_campaign(make_campaign):
    """A campaign in Simplified Chinese whose researchers wrote their texts in Chinese too."""
    campaign = make_campaign(language=Campaign.Language.CHINESE, title="深度伪造视频真实感研究", videos_per_session=6,
                             checkers_per_session=1, min_reason_length=10, max_attempts=2, expected_minutes=10,
                             pay_text="￥20", lecture_text="请认真观看每段视频。\n\n然后选择等级并写下理由。",
                             grade5_reason="真实感很高，没有可察觉的伪造痕迹")
    ConsentText.objects.filter(campaign=campaign).update(text="我们会保存您的评分。您同意吗？")
    for grade in range(1, 6):
        Video.objects.filter(campaign=campaign, demo_grade=grade).update(demo_reason=f"第 {grade} 级的示例理由。")
    return campaign


def _rate_all(client, slug, annotator, number, *, miss_checker):
    attempt = Attempt.objects.get(session__annotator=annotator, number=number)
    videos = Video.objects.in_bulk(attempt.video_order)
    for position, video_id in enumerate(attempt.video_order, start=1):
        html = client.get(f"/c/{slug}/rate/", {"position": position}).content.decode()
        token = html.split('name="token" id="token" value="')[1].split('"')[0]
        video = videos[video_id]
        score = video.gold_score or 3
        if video.role == Video.Role.CHECKER and miss_checker:
            score = 3
        response = client.post(f"/c/{slug}/api/ratings/", {"token": token, "score": str(score), "reason": "嘴部有点模糊"},
                               content_type="application/json")
        assert response.status_code == 200, response.content
    return html


@pytest.mark.django_db
def test_every_annotator_page_in_chinese_has_no_english_left(client, chinese_campaign):
    slug = chinese_campaign.slug
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    assert_chinese(home.content.decode())
    assert home["Content-Language"] == "zh-hans" and "Accept-Language" in home["Vary"]
    assert_chinese(client.get(f"/c/{slug}/closed/").content.decode())
    refused = client.get(f"/c/{slug}/", {"PROLIFIC_PID": "not a valid id\n"})
    assert refused.status_code == 400
    assert_chinese(refused.content.decode(), {"Prolific", "PROLIFIC", "PID"})  # the platform and its parameter, named

    assert client.get(f"/c/{slug}/", {"PROLIFIC_PID": "5f0c1a2b3c4d5e6f7a8b9c0d"}).status_code == 302
    assert_chinese(client.get(f"/c/{slug}/consent/").content.decode())
    unticked = client.post(f"/c/{slug}/consent/", {"version": "1"}).content.decode()
    assert "请勾选方框表示同意" in unticked
    assert_chinese(unticked)
    client.post(f"/c/{slug}/consent/", {"agree": "on", "version": "1"})
    assert_chinese(client.get(f"/c/{slug}/about-you/").content.decode())
    incomplete = client.post(f"/c/{slug}/about-you/", {"age_group": "20-29"}).content.decode()
    assert "请选择一个答案" in incomplete and "20 岁以下" in incomplete
    assert_chinese(incomplete)
    client.post(f"/c/{slug}/about-you/", {"age_group": "20-29", "gender": "female", "education": "master",
                                          "prior_knowledge": "seen"})
    lecture = client.get(f"/c/{slug}/lecture/").content.decode()
    assert "真实感很低" in lecture and "真实感很高" in lecture and "请认真观看每段视频" in lecture
    assert_chinese(lecture)
    client.post(f"/c/{slug}/lecture/")
    rate = client.get(f"/c/{slug}/rate/").content.decode()
    assert "请至少用 4 个汉字（或 10 个英文字母）描述视频中的人物。" in visible_text(rate)  # the script's: the rule's own
    assert_chinese(rate)

    # The rating endpoint answers in the campaign's language, from the session (no campaign read).
    token = rate.split('name="token" id="token" value="')[1].split('"')[0]
    short = client.post(f"/c/{slug}/api/ratings/", {"token": token, "score": "2", "reason": "模糊"},
                        content_type="application/json")
    assert short.status_code == 400 and short.json() == {
        "code": "reason_too_short", "error": "请至少用 4 个汉字（或 10 个英文字母）描述您选择这个等级的理由。"}
    assert client.post(f"/c/{slug}/api/ratings/", {"token": token, "score": "2", "reason": "嘴部模糊"},
                       content_type="application/json").status_code == 200
    review = client.get(f"/c/{slug}/review/").content.decode()
    assert "未评分" in review and "还有 5 个视频没有评分" in review
    assert_chinese(review)

    annotator = Annotator.objects.get(campaign=chinese_campaign)
    _rate_all(client, slug, annotator, 1, miss_checker=True)
    client.post(f"/c/{slug}/review/", {"attempt": "1"})
    disqualified = client.get(f"/c/{slug}/not-accepted/").content.decode()
    assert "有 1 个隐藏的质量检查未通过" in disqualified and "您还可以再尝试 1 次" in disqualified
    assert_chinese(disqualified)
    again = client.get(f"/c/{slug}/lecture/").content.decode()
    assert "再次培训" in again
    assert_chinese(again)
    client.post(f"/c/{slug}/lecture/")
    _rate_all(client, slug, annotator, 2, miss_checker=False)
    assert client.post(f"/c/{slug}/review/", {"attempt": "2"})["Location"].endswith("/thank-you/")
    done = client.get(f"/c/{slug}/thank-you/").content.decode()
    assert "您的完成码" in done
    assert_chinese(done, {"CODE"})
    # What annotators typed stays as they typed it.
    assert set(annotator.sessions.get().attempts.get(number=2).ratings.values_list("typed_reason", flat=True)) == {"嘴部有点模糊"}

    other = client.__class__()
    other.get(f"/c/{slug}/", {"PROLIFIC_PID": "6a0c1a2b3c4d5e6f7a8b9c0d"})
    declined = other.get(other.post(f"/c/{slug}/consent/decline/")["Location"]).content.decode()
    assert "您选择了不参加" in declined
    assert_chinese(declined)


@pytest.mark.django_db
def test_the_preview_speaks_the_campaigns_language_and_staff_pages_stay_english(client, chinese_campaign):
    slug = chinese_campaign.slug
    client.force_login(researcher("res", campaign=chinese_campaign, role="viewer"))
    client.get(f"/c/{slug}/preview/")
    consent = client.get(f"/c/{slug}/preview/consent/").content.decode()
    assert "预览：您看到的是标注员看到的页面" in consent
    assert_chinese(consent)
    client.post(f"/c/{slug}/preview/consent/", {"agree": "on", "version": "1"})
    assert_chinese(client.get(f"/c/{slug}/preview/lecture/").content.decode())
    client.post(f"/c/{slug}/preview/lecture/")
    assert_chinese(client.get(f"/c/{slug}/preview/rate/").content.decode())
    staff = client.get(f"/staff/campaigns/{slug}/")
    assert staff.status_code == 200 and staff["Content-Language"] == "en"
    assert not HAN.search(staff.content.decode().replace(chinese_campaign.title, ""))
    api = client.get("/api/v1/campaigns/no-such-study/")
    assert api.status_code == 404 and api["Content-Language"] == "en" and not HAN.search(api.json()["error"])


@pytest.mark.django_db
def test_an_english_campaign_is_unchanged_and_shows_no_switcher(client, make_campaign):
    make_campaign()
    client.get("/c/study/", {"PROLIFIC_PID": "5f0c1a2b3c4d5e6f7a8b9c0d"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    consent = client.get("/c/study/consent/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in consent and not HAN.search(consent) and 'id="language-switch"' not in consent
    assert "I have read the text above and agree to take part." in consent
    # The switcher's endpoint changes nothing on a campaign that sets its language.
    client.post("/c/study/language/", {"language": "zh-hans", "next": "/c/study/consent/"})
    assert not HAN.search(client.get("/c/study/consent/").content.decode())


@pytest.mark.django_db
def test_the_annotator_chooses_where_the_campaign_lets_them(client, make_campaign):
    make_campaign(language=Campaign.Language.CHOICE)
    client.get("/c/study/", {"PROLIFIC_PID": "5f0c1a2b3c4d5e6f7a8b9c0d"})
    # First their browser's language...
    consent = client.get("/c/study/consent/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in consent and "我已阅读以上内容" in consent
    assert 'id="language-switch"' in consent and 'value="zh-hans" lang="zh-Hans" aria-pressed="true"' in consent
    # ...then their choice, kept for every page and the rating endpoint, whatever the browser says.
    back = client.post("/c/study/language/", {"language": "en", "next": "/c/study/consent/"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert back.status_code == 302 and back["Location"] == "/c/study/consent/"
    consent = client.get("/c/study/consent/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in consent and "I have read the text above" in consent
    assert 'value="en" lang="en" aria-pressed="true"' in consent
    answer = client.post("/c/study/api/ratings/", {"token": "x", "score": "3", "reason": "blurry"},
                         content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-CN")
    # No annotator yet (the row comes with consent): refused, in the language they chose.
    assert answer.status_code == 403 and not HAN.search(answer.json()["error"])
    client.post("/c/study/language/", {"language": "zh-hans", "next": "/c/study/consent/"})
    answer = client.post("/c/study/api/ratings/", {"token": "x", "score": "3", "reason": "blurry"},
                         content_type="application/json")
    assert HAN.search(answer.json()["error"])
    played = client.post("/c/study/api/plays/", {"event": "end", "token": "x"}, content_type="application/json")
    assert played.status_code == 403 and HAN.search(played.json()["error"])  # the player's reports answer in it too
    # Only this site's pages to go back to; an unknown language changes nothing.
    assert client.post("/c/study/language/", {"language": "en", "next": "https://evil.example/"})["Location"] == "/c/study/"
    client.post("/c/study/language/", {"language": "fr", "next": "/c/study/consent/"})
    assert '<html lang="en">' in client.get("/c/study/consent/").content.decode()


# --- In Chromium ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chinese_journey_in_chromium_with_screenshots(page, chinese_campaign):  # noqa: F811 (the page fixture)
    page.set_default_timeout(60_000)  # the shared 2-core machine is slow at times; a real hang still fails
    page.goto(f"{page.base}/c/{chinese_campaign.slug}/?PROLIFIC_PID=5f0c1a2b3c4d5e6f7a8b9c0d&STUDY_ID=5f0c1a2b3c4d5e6f7a8b9c01&SESSION_ID=5f0c1a2b3c4d5e6f7a8b9c02")
    assert page.inner_text("h1") == "知情同意"
    page.check("input[name=agree]")
    page.click("#consent-submit")
    for name, value in (("age_group", "30-39"), ("gender", "female"), ("education", "bachelor"), ("prior_knowledge", "heard")):
        page.check(f"input[name={name}][value='{value}']")
    page.click("#demographics-form button[type=submit]")
    page.wait_for_url("**/lecture/")
    assert page.inner_text("#start-hint") == "还有 5 段示例视频没有看完。"
    take_lecture(page)
    annotator = Annotator.objects.get(campaign=chinese_campaign)
    attempt = Attempt.objects.get(session__annotator=annotator)
    videos = Video.objects.in_bulk(attempt.video_order)
    assert page.inner_text("#reason-label") == "为什么？请描述您看到的情况。"
    page.screenshot(path=str(ARTIFACTS / "rating_page_zh_hans.png"))
    for position, video_id in enumerate(attempt.video_order, start=1):
        wait_until(page, f"document.getElementById('progress-text').textContent.trim() === '{position} / 6'")
        score = videos[video_id].gold_score or 2
        page.click(f"label[for=grade-{score}]")
        if position == 1:
            # "模糊" (blurry) is short of the minimum of 10 for the page as for the server: refused before sending.
            page.fill("#reason", "模糊")
            page.click("#submit-button")
            assert page.inner_text("#form-error") == (
                "请至少用 4 个汉字（或 10 个英文字母）描述" + ("视频中的人物。" if score == 5 else "您选择这个等级的理由。"))
            assert page.answers == []
        page.fill("#reason", "嘴部模糊")  # four characters: enough
        page.click("#submit-button")
    page.wait_for_url("**/review/")
    assert page.inner_text("h1") == "检查您的回答"
    page.screenshot(path=str(ARTIFACTS / "review_page_zh_hans.png"), full_page=True)
    page.click("#finish-button")
    page.wait_for_url("**/thank-you/")
    assert page.inner_text("h1") == "谢谢！"
    assert page.console_errors == []
    assert len(page.answers) == 6
