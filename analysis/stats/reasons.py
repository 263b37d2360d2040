"""What annotators wrote: word frequencies, the 37-category taxonomy of reasons, and suspicious-reason flags.

The taxonomy is the paper's (section III-C, Fig. 8; DOMAIN.md section 2): 14 places, 19 artifacts
and 4 extents. The paper assigned categories with a prompted LLM; here a fixed lexicon does it, so
the assignment is reproducible and reviewable. The lexicon is the three tables below (PLACE_TERMS,
ARTIFACT_TERMS, EXTENT_TERMS): add a synonym by adding a string to a tuple.

Lexicon syntax: a term is lowercase words separated by single spaces and matches whole words
(hyphens and punctuation in the text count as spaces, so "eye-brows" is "eye brows"). A trailing
`*` matches any word ending ("flicker*" matches flicker, flickers, flickering). Where several terms
match at the same place, the longest wins ("motion blur" is motion-blur, not blur; "seamless" is not
seam), and each stretch of text counts once.

Rules on top of the lexicon:
- Places: a description names every place whose term occurs; `not-specified` when it names none.
- Artifacts: every artifact whose term occurs. An artifact term within two words after a negation
  ("no", "not", "without", "never", "free of", "nothing", "hardly any"/"barely any") counts as
  `none` instead, and so do terms chained to it by of/or/and/nor ("no obvious signs of forgery",
  "without any blur or flicker"); the realism phrases of the `none` row ("looks real", "natural")
  count as `none` too, and a negated one ("not realistic") as the generic `artifact`. A term that
  starts with a negation keeps its own category ("not natural" is unnatural, "no expression" is
  stiffness), and "not" before a strong word is an extent ("not obvious blur" is mild blur).
  `none` is kept only when no real artifact is named ("no flicker but the mouth is blurry" is
  blur). `others` is given when nothing at all matched.
- Extent, exactly one per description, first rule that applies: `no-artifact` when the artifacts
  are just `none`; `mild` when a mild modifier occurs (so "very slight" is mild); `severe` when a
  strong word occurs; `moderate` otherwise. The strong words are exactly the paper's list (obvious,
  severe, serious, strong, heavy, very, extreme, extremely) and their -ly forms: "dramatically" or
  "clearly" are not in it, so "flickers dramatically" is moderate. Negated strong words ("not
  obvious", "not very serious") are mild modifiers.

Matching is vectorized over the corpus: each distinct normalized text is matched once, by one
`re.findall` (C) per axis over all texts joined by newlines, with the lexicon compiled to a
character trie so the regex engine does not try every term at every word.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from analysis.stats._ratings import RatingsLike, as_frame

# --------------------------------------------------------------------------------------------
# The taxonomy and its lexicon (edit here)
# --------------------------------------------------------------------------------------------

PLACE_TERMS: Mapping[str, tuple[str, ...]] = {
    "face": ("face", "faces", "facial", "whole face", "entire face", "full face", "head", "skin", "complexion",
             "expression*", "features", "visage"),
    "not-specified": (),  # given when no other place is named
    "mouth": ("mouth*", "lip", "lips", "lip sync*", "mouth movement*", "mouth corner*", "corner of the mouth",
              "speaking", "talking", "tongue"),
    "eyes": ("eye", "eyes", "eyeball*", "pupil*", "iris", "eyelid*", "eye socket*", "gaze", "blink*", "eyelash*"),
    "teeth": ("teeth", "tooth", "gum", "gums"),
    "forehead": ("forehead*", "temple*", "brow ridge"),
    "nose": ("nose*", "nostril*", "bridge of the nose", "nasal"),
    "chin": ("chin*", "jaw*", "lower jaw"),
    "contour": ("contour*", "outline*", "face edge*", "edge of the face", "edges of the face", "face shape",
                "face outline", "silhouette", "profile"),
    "cheeks": ("cheek*", "cheekbone*", "dimple*"),
    "eye-brows": ("eyebrow*", "eye brow*", "brow", "brows"),
    "hairline": ("hairline*", "hair line*", "hair", "hairs", "hairstyle", "bangs", "fringe"),
    "neck": ("neck*", "throat"),
    "ears": ("ear", "ears", "earlobe*", "earring*"),
}

ARTIFACT_TERMS: Mapping[str, tuple[str, ...]] = {
    "blur": ("blur*", "blurr*", "fuzzy", "fuzziness", "unclear", "not clear", "not sharp", "out of focus", "hazy",
             "haze", "vague", "smear*", "soft focus", "low definition", "low resolution", "mushy"),
    "motion-blur": ("motion blur*", "movement blur*", "blurs when moving", "blurry when moving",
                    "blurred when moving", "blurs when turning", "blurry when turning", "blurred when turning",
                    "trailing", "smears when moving"),
    "flickering": ("flicker*", "flash*", "jitter*", "shak*", "trembl*", "wobbl*", "unstable", "instability",
                   "strob*", "twitch*", "vibrat*", "quiver*", "flutter*"),
    "ghosting": ("ghost*", "double image*", "double face", "overlap*", "overlay*", "superimpos*", "translucen*",
                 "transparen*", "afterimage*", "residual image*", "two faces", "see through"),
    "stiffness": ("stiff*", "rigid*", "frozen", "wooden", "mechanical*", "robotic", "expressionless",
                  "lack of expression", "lacks expression", "no expression", "static", "not moving",
                  "does not move", "doesn't move", "motionless", "dull expression*", "sluggish"),
    "unnatural": ("unnatural*", "not natural", "strange*", "weird*", "odd", "awkward*", "abnormal*",
                  "anomal*", "uncoordinated", "inconsistent", "mismatch*", "out of sync", "not in sync",
                  "not synchroni*", "unsynchroni*", "uncanny", "plastic", "doll*", "cartoon*", "mask*",
                  "incongru*", "disharmon*", "out of place", "does not match", "doesn't match", "not match*",
                  "not coordinated", "not fit", "doesn't fit", "does not fit", "puppet*"),
    "lighting-shadow": ("light", "lighting", "lights", "light and shadow", "shadow*", "shade", "shading",
                        "illuminat*", "highlight*", "reflect*", "light source"),
    "color-contrast": ("colo*", "colour*", "color difference*", "skin tone*", "skin colo*", "tone*", "hue*",
                       "contrast*", "saturat*", "pale*", "tint*", "discolo*", "complexion", "yellowish",
                       "reddish", "greenish", "greyish", "grayish"),
    "distortion": ("distort*", "deform*", "warp*", "twist*", "stretch*", "misshap*", "bend*", "bent",
                   "out of shape", "melt*", "collaps*", "sunken", "malform*", "disfigur*", "squash*", "squeez*",
                   "crooked"),
    "asymmetry": ("asymmetr*", "not symmetr*", "unsymmetr*", "uneven", "lopsided", "misalign*", "not aligned",
                  "one side", "different sizes", "left and right"),
    "brightness": ("bright*", "dark*", "dim", "dimmer", "overexpos*", "over exposed", "underexpos*",
                   "under exposed", "glare", "glow*", "luminan*", "too white", "whitish", "exposure"),
    "mosaic": ("mosaic*", "pixel*", "checkerboard", "pixelat*"),
    "frame-drop": ("frame drop*", "dropped frame*", "frame skip*", "frames skip*", "skipped frame*", "lost frame*",
                   "missing frame*", "frame loss", "lag*", "stutter*", "freez*", "jump*", "discontinu*", "choppy",
                   "jerky", "not smooth", "not fluent", "not continuous", "stuck", "delay*", "skip*",
                   "incoherent", "teleport*"),
    "seam": ("seam*", "splic*", "stitch*", "paste*", "pasted on", "cut out", "patch*", "junction*", "boundary",
             "boundaries", "border*", "edge*", "blend*", "fusion", "fused", "joint*", "sticker*", "transition*",
             "dividing line*", "line around"),
    "noise": ("noise*", "noisy", "grain*", "speckl*", "snow*", "dots", "specks"),
    "blocking": ("block*", "blocky", "macroblock*", "compression", "compressed", "jagged", "alias*", "sawtooth",
                 "square*"),
    "artifact": ("artifact*", "artefact*", "trace*", "forg*", "flaw*", "defect*", "fake*", "synthe*",
                 "problem*", "glitch*", "error*", "sign", "signs", "clue*", "evidence", "doctored", "tamper*",
                 "photoshop*", "generated", "ai", "cg", "cgi", "swap*", "replaced", "imperfect*", "wrong",
                 "issue*", "suspicious", "mistake*", "difference*", "abnormality"),
    "none": ("real", "looks real", "look real", "looks very real", "very real", "real person", "realistic", "natural",
             "naturally", "authentic", "genuine", "seamless", "perfect*", "flawless", "normal", "true to life",
             "lifelike", "life like", "convincing", "real video", "real face", "cannot tell", "can't tell",
             "no difference"),
    "others": (),  # given when nothing else matched
}

# Negations that turn a following artifact term into evidence of `none` (two words may sit between).
NEGATIONS: tuple[str, ...] = ("no", "not", "without", "never", "free of", "nothing", "hardly any", "barely any",
                              "cannot see", "can't see", "cannot find", "can't find", "did not see",
                              "didn't see", "did not find", "didn't find", "not see", "not find")

# "not" before a strong word qualifies the extent ("not obvious blur" is mild blur), it does not
# deny the artifact; "no obvious blur" does.
NOT_BEFORE_STRONG = ("obvious", "obviously", "serious", "seriously", "severe", "severely", "strong", "heavy")

EXTENT_TERMS: Mapping[str, tuple[str, ...]] = {
    # The paper's mild list plus their inflections and a few obvious equivalents (negated strong words).
    "mild": ("a little", "a little bit", "a bit", "a tiny bit", "little", "gentle", "gently", "slight",
             "slightly", "subtle", "subtly", "mild", "mildly", "somewhat", "minor", "faint", "faintly", "barely",
             "hardly noticeable", "not obvious", "not very obvious", "not too obvious", "not so obvious",
             "not that obvious", "not obviously", "not serious", "not very serious", "not too serious",
             "not severe", "not very severe", "not strong", "not very strong", "not heavy", "not very heavy"),
    # Exactly the paper's strong list and its -ly forms; nothing else makes a description severe.
    "severe": ("obvious", "obviously", "severe", "severely", "serious", "seriously", "strong", "strongly",
               "heavy", "heavily", "very", "extreme", "extremely"),
}

PLACES: tuple[str, ...] = tuple(PLACE_TERMS)
ARTIFACTS: tuple[str, ...] = tuple(ARTIFACT_TERMS)
EXTENTS: tuple[str, ...] = ("no-artifact", "mild", "moderate", "severe")
# The fixed order of a video's 37-share category vector (14 places, 19 artifacts, 4 extents).
CATEGORIES: tuple[str, ...] = PLACES + ARTIFACTS + EXTENTS

# What the platform stores for a grade-5 rating (annotation.models.GRADE5_REASON; copied, not
# imported, to keep this package Django-free). It is not the annotator's own text.
GRADE5_STORED_REASON = "The realism is very high, and there are no detectable signs of forgery"

STOP_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    just let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves
    out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this those through to
    too under until up us very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've
    your yours yourself yourselves looks look looking like seems seem one also there's it's
    """.split()
)

assert len(CATEGORIES) == 37 and len(set(CATEGORIES)) == 37, "the taxonomy must have 37 distinct categories"


# --------------------------------------------------------------------------------------------
# Text normalization and lexicon matching
# --------------------------------------------------------------------------------------------

_WORD = r"[a-z0-9']+"
_WORD_CHAR = "[a-z0-9']"


def normalize(texts: Iterable[str] | pd.Series) -> pd.Series:
    """Lowercase; every run of characters other than letters, digits and apostrophes becomes one space.

    After this, words are separated by exactly one space and no text contains a newline, which the
    matcher below relies on.
    """
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype="object")
    series = series.astype("object").where(series.notna(), "").astype(str)
    # String methods run per element, so clean each distinct text once (stored grade-5 texts and
    # pasted reasons repeat) and spread the result back with the factorize codes.
    codes, uniques = pd.factorize(series.to_numpy(dtype=object))
    cleaned = (
        pd.Series(uniques, dtype=object)
        .str.lower()
        .str.replace("\u2019", "'", regex=False)
        .str.replace(r"[^a-z0-9']+", " ", regex=True)
        .str.strip()
        .to_numpy(dtype=object)
    )
    return pd.Series(cleaned[codes] if len(codes) else np.array([], dtype=object), index=series.index, dtype=object)


def _term_pattern(term: str) -> str:
    words = term.split(" ")
    return " ".join(re.escape(w[:-1]) + f"{_WORD_CHAR}*" if w.endswith("*") else re.escape(w) for w in words)


def _trie_pattern(terms: Iterable[str]) -> str:
    """All terms as one character-trie regex: longest match first, pruned at the first character.

    A flat alternation of a few hundred terms makes Python's regex engine try every term at every
    word start; the trie tries only the branch of the letter it sees. At each node the longer
    literal continuations come first, then a `*` wildcard, then the end of a term, so the longest,
    most specific term wins ("seamless" before "seam*"), and backtracking falls back to shorter
    ones when the word does not end there.
    """
    trie: dict = {}
    for term in set(terms):
        node = trie
        for char in term.rstrip("*"):
            node = node.setdefault(char, {})
        node["<wild>" if term.endswith("*") else "<end>"] = {}

    def render(node: dict) -> str:
        branches = [re.escape(c) + render(child) for c, child in sorted(node.items()) if len(c) == 1]
        if "<wild>" in node:
            branches.append(f"{_WORD_CHAR}*")
        elif "<end>" in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return render(trie)


class _Lexicon:
    """One axis of the taxonomy compiled to a single regex plus a resolver from matched text to category.

    With negations, a match is either a plain term or a negation, up to two words, a term and any
    terms chained to it by of/or/and/nor ("no signs of forgery", "no blur or flicker"); the plain
    branch is tried first so that a term that itself starts with a negation ("not natural",
    "no expression") keeps its own category.
    """

    def __init__(self, table: Mapping[str, tuple[str, ...]], negations: tuple[str, ...] = ()):
        self.terms = [(t, c) for c, ts in table.items() for t in ts]
        trie = _trie_pattern(t for t, _ in self.terms)
        # Group 1 matches the newline between two descriptions, so that one findall over the whole
        # corpus tells which description each match belongs to (see `hits`).
        pattern = rf"(\n)|\b(?:({trie})"
        if negations:
            chained = rf"(?: (?:of|or|and|nor) (?:{_WORD} ){{0,1}}?(?:{trie}))*"
            others = _trie_pattern(n for n in negations if n != "not")
            strong = "|".join(NOT_BEFORE_STRONG)
            negation = rf"(?:{others}|not(?! (?:(?:very|too|so|that) )?(?:{strong})(?!{_WORD_CHAR})))"
            pattern += rf"|{negation} (?:{_WORD} ){{0,2}}?({trie}){chained}"
        else:
            pattern += "()"  # keep three groups either way
        self.regex = re.compile(pattern + rf")(?!{_WORD_CHAR})")
        by_specificity = sorted(self.terms, key=lambda tc: (-len(tc[0].replace("*", "")), tc[0].endswith("*")))
        self._exact = [(re.compile(rf"(?:{_term_pattern(t)})\Z"), c) for t, c in by_specificity]

    def category(self, matched: str) -> str:
        for pattern, category in self._exact:
            if pattern.match(matched):
                return category
        raise KeyError(matched)  # unreachable: every match came from one of the terms

    def hits(self, normalized: Sequence[str]) -> pd.DataFrame:
        """Long table (row, category, negated) of every match in the normalized descriptions.

        One `re.findall` over the descriptions joined by newlines runs the whole scan in C; the row
        of a match is the number of newlines matched before it.
        """
        found = self.regex.findall("\n".join(normalized))
        table = np.array(found, dtype=object).reshape(-1, 3)
        separator = table[:, 0] == "\n"
        row = np.cumsum(separator)[~separator]
        term, negated_term = table[~separator, 1], table[~separator, 2]
        negated = negated_term != ""
        matched = np.where(negated, negated_term, term)
        # Resolve each distinct matched string once (hash-based factorize; a sort of strings is slow).
        codes, uniques = pd.factorize(matched)
        resolved = np.array([self.category(u) for u in uniques], dtype=object)
        categories = resolved[codes] if len(codes) else np.array([], dtype=object)
        return pd.DataFrame({"row": row.astype(np.intp), "category": categories, "negated": negated.astype(bool)})


@lru_cache(maxsize=1)
def _lexicons() -> tuple[_Lexicon, _Lexicon, _Lexicon]:
    return (
        _Lexicon(PLACE_TERMS),
        _Lexicon(ARTIFACT_TERMS, NEGATIONS),
        _Lexicon(EXTENT_TERMS),
    )


def _one_hot(hits: pd.DataFrame, n_rows: int, columns: Sequence[str]) -> pd.DataFrame:
    matrix = np.zeros((n_rows, len(columns)), dtype=bool)
    if len(hits):
        position = {c: i for i, c in enumerate(columns)}
        matrix[hits["row"].to_numpy(dtype=np.intp), hits["category"].map(position).to_numpy(dtype=np.intp)] = True
    return pd.DataFrame(matrix, columns=list(columns))


def categorize(texts: Iterable[str] | pd.Series) -> pd.DataFrame:
    """One boolean row per description, 37 columns in CATEGORIES order (rules in the module docstring)."""
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype="object")
    # Each distinct text is classified once: the stored grade-5 text and pasted reasons repeat a lot.
    codes, uniques = pd.factorize(normalize(series).to_numpy())
    table = _categorize_normalized(list(uniques))
    result = pd.DataFrame(table[codes] if len(codes) else np.zeros((0, len(CATEGORIES)), dtype=bool),
                          columns=list(CATEGORIES), index=series.index)
    return result


def _categorize_normalized(normalized: list[str]) -> np.ndarray:
    n = len(normalized)
    places_lex, artifacts_lex, extents_lex = _lexicons()

    places = _one_hot(places_lex.hits(normalized), n, PLACES)
    places["not-specified"] = ~places.drop(columns="not-specified").any(axis=1)

    artifact_hits = artifacts_lex.hits(normalized)
    # A negated artifact is evidence of no artifact; a negated realism phrase ("not realistic") is a
    # generic statement that something is off.
    negated = artifact_hits["negated"].to_numpy()
    was_none = (artifact_hits["category"] == "none").to_numpy()
    artifact_hits.loc[negated & ~was_none, "category"] = "none"
    artifact_hits.loc[negated & was_none, "category"] = "artifact"
    artifacts = _one_hot(artifact_hits, n, ARTIFACTS)
    real = artifacts.drop(columns=["none", "others"]).any(axis=1)
    artifacts["none"] &= ~real
    artifacts["others"] = ~real & ~artifacts["none"]

    modifiers = _one_hot(extents_lex.hits(normalized), n, ("mild", "severe"))
    no_artifact = artifacts["none"].to_numpy()
    mild = ~no_artifact & modifiers["mild"].to_numpy()
    severe = ~no_artifact & ~mild & modifiers["severe"].to_numpy()
    extents = pd.DataFrame(
        {"no-artifact": no_artifact, "mild": mild, "moderate": ~(no_artifact | mild | severe), "severe": severe}
    )
    return pd.concat([places, artifacts, extents], axis=1)[list(CATEGORIES)].to_numpy()


# --------------------------------------------------------------------------------------------
# Words and per-video category vectors
# --------------------------------------------------------------------------------------------


def tokens(texts: Iterable[str] | pd.Series, *, stop_words: frozenset[str] = STOP_WORDS) -> pd.Series:
    """Every word of every description, one row per word, indexed by its description's index.

    Long format rather than a list per description, so counting and filtering stay vectorized.
    Stop words are removed (pass an empty set to keep them).
    """
    normalized = normalize(texts)
    # Normalized texts have single spaces, so one split of the joined corpus (in C) gives every word
    # and the space count gives how many belong to each description.
    counts = np.where(normalized.to_numpy() == "", 0, normalized.str.count(" ").to_numpy() + 1).astype(np.intp)
    words = pd.Series(" ".join(normalized).split(), index=np.repeat(normalized.index, counts), dtype=object)
    return words[~words.isin(stop_words)] if stop_words else words


def word_frequencies(
    texts: Iterable[str] | pd.Series, *, stop_words: frozenset[str] = STOP_WORDS, min_length: int = 2
) -> pd.DataFrame:
    """Word counts over all descriptions (stop words and words shorter than `min_length` dropped).

    Columns word, count, share (of all kept words), most frequent first; ties by word.
    """
    words = tokens(texts, stop_words=stop_words)
    words = words[words.str.len() >= min_length]
    counts = words.value_counts()
    frame = pd.DataFrame({"word": counts.index.astype(str), "count": counts.to_numpy(dtype=np.int64)})
    frame = frame.sort_values(["count", "word"], ascending=[False, True], ignore_index=True)
    frame["share"] = frame["count"] / max(int(frame["count"].sum()), 1)
    return frame


def category_vectors(ratings: RatingsLike, *, text_column: str = "reason") -> pd.DataFrame:
    """Per video (index `video`), the share of its descriptions that hit each of the 37 categories.

    Columns are CATEGORIES in order. This is the "category vector" the explanation metric compares
    (RMSE between predicted and true vectors).
    """
    frame = as_frame(ratings, ("video", text_column))
    hits = categorize(frame[text_column].reset_index(drop=True))
    hits.index = pd.Index(np.asarray(frame["video"]), name="video")
    return hits.astype(np.float64).groupby(level=0, sort=True).mean()[list(CATEGORIES)]


def category_shares(texts: Iterable[str] | pd.Series) -> pd.Series:
    """Share of all descriptions hitting each category (the bars of the paper's Fig. 8)."""
    return categorize(texts).mean().reindex(list(CATEGORIES))


# --------------------------------------------------------------------------------------------
# Suspicious reasons
# --------------------------------------------------------------------------------------------

SUSPICIOUS_COLUMNS = ("too_short", "pasted", "contradicts_grade", "suspicious")


def suspicious_reasons(
    ratings: RatingsLike,
    *,
    text_column: str = "reason",
    min_words: int = 3,
    max_videos_per_text: int = 2,
    ignore_texts: Sequence[str] = (GRADE5_STORED_REASON,),
    high_grades: Sequence[float] = (5,),
    high_grade_extents: Sequence[str] = ("severe",),
    low_grades: Sequence[float] = (1,),
) -> pd.DataFrame:
    """Flags per rating (same index as the input): too_short, pasted, contradicts_grade, suspicious.

    - too_short: fewer than `min_words` words (stop words included: "blurry" is too short).
    - pasted: this annotator typed the same text (after normalization) on more than
      `max_videos_per_text` different videos. `ignore_texts` (the platform's stored grade-5 text by
      default) are never counted as pasted, because the annotator did not type them.
    - contradicts_grade: a grade in `high_grades` whose text names a real artifact (not none/others)
      with an extent in `high_grade_extents` ("grade 5, obvious blur on the mouth"), or a grade in
      `low_grades` whose text says there is no artifact ("grade 1, looks real").
    - suspicious: any of the three.
    """
    frame = as_frame(ratings, ("video", "annotator", "score", text_column))
    normalized = normalize(frame[text_column]).reset_index(drop=True)
    empty = (normalized == "").to_numpy()
    n_words = np.where(empty, 0, normalized.str.count(" ").to_numpy() + 1)
    too_short = n_words < min_words

    # Distinct videos per (annotator, text): integer codes, unique triples, then a bincount.
    text_code, texts = pd.factorize(normalized.to_numpy())
    annotator_code = pd.factorize(np.asarray(frame["annotator"]))[0].astype(np.int64)
    video_code = pd.factorize(np.asarray(frame["video"]))[0].astype(np.int64)
    pair = annotator_code * len(texts) + text_code
    pair_code, _ = pd.factorize(pair)
    triples = np.unique(pair_code.astype(np.int64) * (video_code.max(initial=0) + 1) + video_code)
    videos_per_pair = np.bincount(triples // (video_code.max(initial=0) + 1), minlength=pair_code.max(initial=-1) + 1)
    ignored = np.isin(texts, list(normalize(pd.Series(list(ignore_texts), dtype="object"))))
    pasted = (videos_per_pair[pair_code] > max_videos_per_text) & ~empty & ~ignored[text_code]

    hits = categorize(normalized)
    score = np.asarray(frame["score"], dtype=np.float64)
    named_real = hits[[a for a in ARTIFACTS if a not in ("none", "others")]].any(axis=1).to_numpy()
    strong_extent = hits[list(high_grade_extents)].any(axis=1).to_numpy()
    contradicts = (np.isin(score, high_grades) & named_real & strong_extent) | (
        np.isin(score, low_grades) & hits["no-artifact"].to_numpy()
    )
    return pd.DataFrame(
        {
            "too_short": too_short,
            "pasted": pasted,
            "contradicts_grade": contradicts,
            "suspicious": too_short | pasted | contradicts,
        },
        index=frame.index,
    )
