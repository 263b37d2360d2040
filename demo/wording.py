"""The reasons simulated annotators type: what they noticed, in the place / artifact / extent form.

The vocabulary is the product's taxonomy (analysis.stats.reasons: PLACES, ARTIFACTS, EXTENTS):
each artifact kind of the generator maps to one taxonomy artifact and the places where it shows,
and the phrases are written so that the taxonomy's lexicon reads them back as that artifact (the
tests check it with `analysis.stats.reasons.categorize`). Wording varies (several templates per
artifact, synonyms for places, modifiers for the extent, connectors, capitalisation, the odd
typo), and so does quality: the crowd model (crowd.py) decides what a person noticed and how
careless they are; this module turns it into text, adding vague, wrong and person-centred
reasons at the rates it is given.

For grade 5 the person must still type something: a description of the person in the video
(the platform then stores its fixed sentence).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.stats.reasons import ARTIFACTS, PLACES
from annotation.rules import visible_length

from .realism import ARTIFACT_KINDS


@dataclass(frozen=True)
class KindWording:
    category: str  # the taxonomy artifact it is reported as
    places: tuple[str, ...]  # taxonomy places where it shows, the most typical first
    templates: tuple[str, ...]


# Template slots: {p} the place phrase, {A} an extent modifier before an adjective ("slightly "),
# {V} one after a verb (" slightly"), {is}/{has}/{looks}/{s}/{does} agree with the place.
KINDS: Mapping[str, KindWording] = {
    "seam": KindWording("seam", ("contour", "chin", "forehead", "cheeks", "face"), (
        "there is a {A}visible seam around {p}",
        "{p} {has} a {A}visible edge where the face was pasted",
        "the blending boundary at {p} is {A}visible",
        "{p} {looks} pasted on, the border is {A}visible",
        "I can see the line where the face was stitched at {p}",
    )),
    "color": KindWording("color-contrast", ("face", "cheeks", "forehead"), (
        "the skin colour of {p} does not match the neck",
        "{p} {has} a {A}different skin tone from the rest of the head",
        "the colour of {p} is {A}off",
        "{p} {looks} {A}too {tint}",
        "the contrast of {p} is {A}different from the neck",
    )),
    "blur": KindWording("blur", ("face", "mouth", "eyes", "teeth", "nose"), (
        "{p} {is} {A}blurry",
        "{p} {looks} {A}blurred",
        "{p} {is} {A}fuzzy",
        "{p} {is} {A}out of focus",
        "the details of {p} are {A}smeared",
    )),
    "flicker": KindWording("flickering", ("face", "cheeks", "forehead"), (
        "{p} flicker{s}{V}",
        "{p} keep{s} flashing{V}",
        "the brightness of {p} changes{V} from frame to frame",
        "{p} {is} {A}unstable, it flickers",
    )),
    "jitter": KindWording("flickering", ("face", "contour", "mouth"), (
        "{p} shake{s}{V}",
        "{p} jitter{s}{V} against the head",
        "{p} {is} trembling{V}",
        "{p} wobble{s}{V} when the head moves",
    )),
    "ghosting": KindWording("ghosting", ("eyes", "mouth", "face", "contour"), (
        "there is a {A}visible double image around {p}",
        "{p} {looks} {A}ghosted",
        "I can see a ghost of another face around {p}",
        "{p} leave{s} trails{V} when moving",
        "{p} {looks} {A}transparent, like two faces overlap",
    )),
    "blocking": KindWording("blocking", ("face", "mouth", "cheeks"), (
        "{p} {is} {A}blocky",
        "{p} show{s} {A}visible compression blocks",
        "there are {A}noticeable square blocks on {p}",
    )),
    "mosaic": KindWording("mosaic", ("face", "mouth", "eyes"), (
        "{p} {is} {A}pixelated",
        "there is a {A}visible mosaic on {p}",
        "{p} {looks} {A}pixelated like a mosaic",
    )),
    "stiff_mouth": KindWording("stiffness", ("mouth", "face", "teeth"), (
        "{p} {is} {A}stiff",
        "{p} {does} not move with the speech",
        "{p} {looks} {A}rigid when speaking",
        "{p} {is} {A}frozen while the person talks",
    )),
    "misalign": KindWording("asymmetry", ("eyes", "eye-brows", "nose", "face"), (
        "{p} {looks} {A}misaligned",
        "{p} {is} {A}misaligned with the head",
        "{p} {is} {A}uneven",
        "the two sides of {p} look {A}asymmetric",
    )),
    "frame_drop": KindWording("frame-drop", ("not-specified", "face"), (
        "{p} stutter{s}{V}",
        "frames seem to skip",
        "the motion is {A}jerky",
        "{p} jump{s}{V} from time to time",
        "{p} lag{s}{V} at times",
    )),
    "noise": KindWording("noise", ("face", "cheeks", "forehead"), (
        "{p} {is} {A}grainy",
        "there is {A}visible noise on {p}",
        "{p} {looks} {A}noisy",
    )),
}

# Place phrases, and whether they take a plural verb.
PLACE_PHRASES: Mapping[str, tuple[tuple[str, bool], ...]] = {
    "face": (("the face", False), ("the whole face", False), ("the facial area", False)),
    "mouth": (("the mouth", False), ("the lips", True), ("the mouth area", False)),
    "eyes": (("the eyes", True), ("the eye area", False)),
    "teeth": (("the teeth", True),),
    "forehead": (("the forehead", False),),
    "nose": (("the nose", False),),
    "chin": (("the chin", False), ("the jaw", False)),
    "contour": (("the face contour", False), ("the outline of the face", False)),
    "cheeks": (("the cheeks", True),),
    "eye-brows": (("the eyebrows", True),),
    "hairline": (("the hairline", False),),
    "neck": (("the neck", False),),
    "ears": (("the ears", True),),
    "not-specified": (("it", False), ("the video", False), ("the picture", False)),
}

# Extent modifiers: the taxonomy's mild list, its strong list, and words that are neither (moderate).
MODIFIERS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mild": (("slightly ", "a little ", "a bit ", "mildly ", "subtly "), (" slightly", " a little", " a bit", " mildly")),
    "moderate": (("", "", "quite ", "rather ", "noticeably ", "clearly "), ("", "", " noticeably", " dramatically", " clearly", " quite a lot")),
    "severe": (("very ", "obviously ", "extremely ", "seriously "), (" very obviously", " heavily", " severely", " strongly", " extremely")),
}
TINTS = ("red", "yellow", "pale", "dark", "green")

VAGUE = (
    "the face looks fake", "something about the face feels off", "it looks unnatural somehow",
    "I think the face was swapped", "the face seems synthetic", "the expression looks strange",
    "I am not sure, the face looks a bit odd", "it doesn't look like a real person",
)
VAGUE_UNSURE = (  # grade 4: traces suspected, not obvious or uncertain
    "there might be traces of forgery, not obvious", "it looks mostly real but something is slightly off",
    "I am not sure, maybe the face was edited", "hard to tell, a little unnatural maybe",
)
ABOUT_PERSON = ("the {who} looks fake", "the {who}'s face looks strange", "the {who} does not look real",
                "I don't trust the face of this {who}")
CARELESS = ("face is fake", "looks fake", "blurry face", "not real", "fake video", "the face is weird",
            "looks ok to me", "a person talking", "normal video", "bad quality")
CONNECTORS = (", and ", " and ", "; also ", ". ", ", ")
TYPOS = {"the": "teh", "and": "adn", "looks": "loks", "face": "fcae", "with": "wiht"}

for _kind, _wording in KINDS.items():
    assert _wording.category in ARTIFACTS and set(_wording.places) <= set(PLACES), _kind
assert set(KINDS) == set(ARTIFACT_KINDS) and set(PLACE_PHRASES) == set(PLACES)


@dataclass(frozen=True)
class Observation:
    """An artifact a person noticed, and how strong it looked to them (0..1)."""

    kind: str
    severity: float


def _pick(rng: np.random.Generator, options: Sequence):
    """One of `options` at random (Generator.choice is ten times slower on a short tuple)."""
    return options[int(rng.integers(len(options)))]


def extent_of(severity: float) -> str:
    return "mild" if severity < 0.3 else "severe" if severity > 0.65 else "moderate"


def clause(rng: np.random.Generator, observation: Observation, *, place: str | None = None, plain: bool = False) -> str:
    """One clause about one artifact: a place, the artifact, an extent (`plain`: the first, clearest template)."""
    wording = KINDS[observation.kind]
    if place is None:
        place = wording.places[0] if rng.random() < 0.5 else _pick(rng, wording.places)
    phrase, plural = PLACE_PHRASES[place][int(rng.integers(len(PLACE_PHRASES[place])))]
    adjective, adverb = MODIFIERS[extent_of(observation.severity)]
    template = wording.templates[0] if plain else _pick(rng, wording.templates)
    return template.format(
        p=phrase, A=_pick(rng, adjective), V=_pick(rng, adverb), tint=_pick(rng, TINTS),
        **{"is": "are" if plural else "is", "has": "have" if plural else "has", "looks": "look" if plural else "looks",
           "does": "do" if plural else "does", "s": "" if plural else "s"},
    )


def person_describe(rng: np.random.Generator, person: Mapping[str, object]) -> str:
    """A plain description of the person in the video, as people type for grade 5."""
    hair = {"short": "short", "long": "long", "bun": "tied-up", "curly": "curly", "bangs": "fringed",
            "crew": "very short"}.get(str(person.get("hair_style")), "dark")
    color, eyes, background = person.get("hair_color", "dark"), person.get("eye_color", "dark"), person.get("background", "wall")
    who = _pick(rng, {"woman": ("a woman", "a young woman", "a lady"), "man": ("a man", "a young man", "a guy")}
                .get(str(person.get("presentation")), ("a person",)))
    options = [
        f"{who} with {hair} {color} hair talking to the camera",
        f"{who} with {eyes} eyes speaking in front of a {background}",
        f"{who} talking, {hair} {color} hair, {background} behind",
        f"it shows {who} with {hair} hair who is talking calmly",
        f"{who} in front of a {background}, talking and blinking",
    ]
    if person.get("beard"):
        options.append(f"{who} with a short beard and {color} hair talking")
    return _pick(rng, options)


@dataclass(frozen=True)
class Voice:
    """How a person writes: rates of vague, wrong and person-centred reasons, and of typos."""

    careless: bool = False
    vague_rate: float = 0.12
    wrong_rate: float = 0.08
    person_rate: float = 0.05
    typo_rate: float = 0.03
    pasted: str = ""  # a careless person's stock answer, reused across videos


def reason_write(
    rng: np.random.Generator,
    *,
    grade: int,
    observations: Sequence[Observation],
    person: Mapping[str, object],
    voice: Voice = Voice(),
    min_length: int = 10,
) -> str:
    """The text a person types for `grade` after noticing `observations` (most salient first)."""
    if voice.careless:
        text = voice.pasted or _pick(rng, CARELESS)
        if grade == 5 and rng.random() < 0.5:
            text = "a person talking"
    elif grade == 5:
        text = person_describe(rng, person)
        if rng.random() < 0.3:
            text += _pick(rng, (", looks real", ", looks natural", ", no problem", ", nothing wrong"))
    else:
        text = _reason_for_low_grade(rng, grade, list(observations), person, voice)
    if voice.typo_rate and rng.random() < voice.typo_rate:
        words = text.split(" ")
        spots = [i for i, w in enumerate(words) if w in TYPOS]
        if spots:
            i = _pick(rng, spots)
            words[i] = TYPOS[words[i]]
            text = " ".join(words)
    if rng.random() < 0.7:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.5:
        text += "."
    while visible_length(text) < min_length:  # the platform refuses shorter reasons; people then add a few words
        text += " I think"
    return text


def _reason_for_low_grade(rng: np.random.Generator, grade: int, observations: list[Observation],
                          person: Mapping[str, object], voice: Voice) -> str:
    if observations and rng.random() < voice.wrong_rate:
        # Misattribution: one noticed artifact is reported as another kind.
        absent = [k for k in ARTIFACT_KINDS if k not in {o.kind for o in observations}]
        observations[int(rng.integers(len(observations)))] = Observation(_pick(rng, absent), float(rng.uniform(0.2, 0.7)))
    if not observations or rng.random() < voice.vague_rate:
        if grade >= 4 and rng.random() < 0.6:
            return _pick(rng, VAGUE_UNSURE)
        if rng.random() < 0.5 or not observations:
            if rng.random() < 0.4:
                # Guessing: a plausible artifact the video may not have.
                guess = Observation(_pick(rng, ARTIFACT_KINDS), float(rng.uniform(0.1, 0.6)))
                return clause(rng, guess)
            return _pick(rng, VAGUE)
    if rng.random() < voice.person_rate:
        who = {"woman": "woman", "man": "man"}.get(str(person.get("presentation")), "person")
        lead = _pick(rng, ABOUT_PERSON).format(who=who)
        return lead + _pick(rng, CONNECTORS) + clause(rng, observations[0])
    clauses = [clause(rng, o) for o in observations]
    text = clauses[0]
    for extra in clauses[1:]:
        text += _pick(rng, CONNECTORS) + extra
    return text


def demo_reason(*, grade: int, strengths: Mapping[str, float]) -> str:
    """The lecture's explanation of a demo video: every clear artifact, worded plainly."""
    if grade == 5:
        return "No trace of forgery can be seen: the face, its colour and its movements look natural."
    rng = np.random.default_rng(grade)
    ranked = sorted(strengths.items(), key=lambda kv: -kv[1])
    observations = [Observation(kind, s) for kind, s in ranked if s >= 0.15][:3] or [Observation(ranked[0][0], ranked[0][1])]
    text = ", and ".join(clause(rng, o, place=KINDS[o.kind].places[0], plain=True) for o in observations)
    return text[0].upper() + text[1:] + "."
