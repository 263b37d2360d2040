"""Forms that parse and validate what annotators send; the workflow rules stay in services."""
from collections.abc import Mapping
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Annotator


class ConsentForm(forms.Form):
    agree = forms.BooleanField(
        required=True,
        label=_("I have read the text above and agree to take part."),
        error_messages={"required": _("Please tick the box to agree, or close the page if you do not want to take part.")},
    )
    # The version of the text the page showed: the one the annotator agrees to.
    version = forms.IntegerField(min_value=1, max_value=2_147_483_647, widget=forms.HiddenInput,
                                 error_messages={"required": _("This page is out of date. Please read the text and agree again.")})


class DemographicsForm(forms.ModelForm):
    class Meta:
        model = Annotator
        fields = ["age_group", "gender", "education", "prior_knowledge"]
        labels = {
            "age_group": _("Your age"),
            "gender": _("Your gender"),
            "education": _("Your highest education"),
            "prior_knowledge": _("What did you know about deepfakes before this study?"),
        }
        widgets = {name: forms.RadioSelect for name in fields}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = True
            field.choices = [c for c in field.choices if c[0] != ""]
            field.error_messages["required"] = _("Please choose one answer.")


GRADE_MISSING = _("Pick one of the five grades (keys 1 to 5).")
_FALSE_WORDS = {"", "0", "false", "off"}


@dataclass(frozen=True)
class RatingAnswer:
    """What the rating page posts for one video, typed."""

    token: str
    score: int
    reason: str
    played_to_end: bool = False
    plays: int = 0
    seeks: int = 0
    fullscreen: bool = False


def rating_answer_parse(data: Mapping[str, object]) -> RatingAnswer:
    """Read the rating page's answer (the JSON object it posts); ValidationError with the message to show.

    The page sends its form's fields as strings; numbers and booleans are taken too, as a script
    would send them. Not a django Form on purpose: this is the request an annotator sends forty
    times a session, and a Form (seven fields deep-copied per instance, then cleaned) took 0.4 ms
    of the submit's 2.4 ms of Django CPU on the 2-core benchmark machine. The rules are the ones of
    the Form it replaced; the workflow rules (reason length, owner, position...) stay in services.
    """
    token = _text(data, "token")
    if not token or len(token) > 500:
        raise ValidationError(gettext("This page lost its rating token. Reload the page and rate the video again."))
    score = _text(data, "score")
    if score not in ("1", "2", "3", "4", "5"):
        raise ValidationError(str(GRADE_MISSING))
    reason = _text(data, "reason").strip()
    if len(reason) > 2000:
        raise ValidationError(gettext("Please keep the reason under 2000 characters (it has {length}).").format(length=len(reason)))
    return RatingAnswer(
        token=token,
        score=int(score),
        reason=reason,
        played_to_end=_text(data, "played_to_end").lower() not in _FALSE_WORDS,
        plays=_count(_text(data, "plays"), 10_000),
        seeks=_count(_text(data, "seeks"), 100_000),
        fullscreen=_text(data, "fullscreen").lower() not in _FALSE_WORDS,
    )


def _text(data: Mapping[str, object], name: str) -> str:
    """A field as the page's form would send it: a string ("" when absent or null)."""
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int
        return "on" if value else ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if not storable(value):
            raise ValidationError(gettext("The answer contains characters that cannot be stored (a NUL or a broken "
                                          "character). Remove them and save again."))
        return value
    raise ValidationError(gettext("The answer's field {name} must be text or a number. Reload the page.").format(name=repr(name)))


def _count(value: str, most: int) -> int:
    """A playback counter: empty is 0; anything but a whole number from 0 to `most` is refused."""
    if value == "":
        return 0
    if not (value.isascii() and value.isdigit()) or int(value) > most:
        raise ValidationError(gettext("The player's counters could not be read. Reload the page."))
    return int(value)


def storable(text: str) -> bool:
    """Whether `text` can be stored as it is: no NUL (PostgreSQL refuses it in text) and no lone
    surrogate (JSON can carry one; it is no character and cannot be encoded as UTF-8)."""
    if "\x00" in text:
        return False
    try:  # in C: a per-character loop in Python cost 0.1 ms on a 2,000-character reason
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Bounds of the columns the numbers are compared with: a larger number is refused by the form, not
# by PostgreSQL's "out of range" (a 500).
SMALLINT_MAX, INTEGER_MAX = 32_767, 2_147_483_647


class FinishForm(forms.Form):
    attempt = forms.IntegerField(min_value=1, max_value=SMALLINT_MAX)
