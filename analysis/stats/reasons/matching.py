"""Descriptions matched against the lexicon: normalization, the 37 categories per description, word counts, per-video shares.

Everything here works once per distinct text. A `Corpus` holds the descriptions as integer codes
into their distinct normalized texts (the stored grade-5 sentence and pasted reasons repeat a
lot); normalizing, matching and splitting into words run over the distinct texts joined into one
string, by single C calls (`str.lower`, `re.sub`, `re.findall`, `str.split`), and per description
only integer codes move (`np.bincount`, sparse sums). So the cost grows with the ratings, not
faster, and no Python loop runs per rating or per text. Every public function accepts the
descriptions as any sequence of strings or as a `Corpus`, so a caller that needs several of them
(the pipeline's reasons stage) builds the corpus once.

Matching: the lexicon (lexicon.py) is compiled to a character trie per axis so the regex engine
does not try every term at every word, and one `re.findall` per axis runs over all texts joined
by newlines.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TypeAlias

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.stats._ratings import IntArray, RatingsLike, as_frame
from analysis.stats.reasons.lexicon import (
    ARTIFACT_TERMS,
    ARTIFACTS,
    CATEGORIES,
    EXTENT_TERMS,
    NEGATIONS,
    NOT_BEFORE_STRONG,
    PLACE_TERMS,
    PLACES,
    STOP_WORDS,
)

_WORD = r"[a-z0-9']+"
_WORD_CHAR = "[a-z0-9']"
_NOT_WORD = re.compile(r"[^a-z0-9'\n]+")  # newlines separate the joined texts, so they stay
_LINE_EDGE_SPACE = re.compile(r"^ | $", re.MULTILINE)


# --------------------------------------------------------------------------------------------
# Normalization and the corpus of distinct texts
# --------------------------------------------------------------------------------------------


def _normalize_texts(texts: list[str]) -> list[str]:
    """Each text lowercased, every run of characters other than letters, digits and apostrophes
    one space, no space at either end; in one pass over the texts joined by newlines."""
    if not texts:
        return []
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:  # a text holds line breaks of its own: they are spaces too
        joined = "\n".join(text.replace("\n", " ") for text in texts)
    cleaned = _NOT_WORD.sub(" ", joined.lower().replace("\u2019", "'"))
    return _LINE_EDGE_SPACE.sub("", cleaned).split("\n")


@dataclass(frozen=True, eq=False)
class Corpus:
    """Descriptions as codes into their distinct normalized texts: description i reads `texts[codes[i]]`.

    `counts[j]` is how many descriptions read `texts[j]`; `index` is the descriptions' index, which
    per-description results keep.
    """

    texts: list[str]
    codes: IntArray
    counts: IntArray
    index: pd.Index

    def __len__(self) -> int:
        return int(self.codes.size)

    @cached_property
    def categories(self) -> np.ndarray:
        """Boolean table of distinct texts x 37 CATEGORIES (row j: `texts[j]`), matched on first use.

        The per-description table is `categories[codes]`; a sum over descriptions is a sum over
        the distinct texts weighted by `counts`.
        """
        table = _categorize_distinct(self.texts)
        table.flags.writeable = False  # shared by every statistic of this corpus
        return table

    @cached_property
    def word_counts(self) -> IntArray:
        """Number of words (stop words included) of each distinct text."""
        _, owner = _words(self.texts)
        return np.bincount(owner, minlength=len(self.texts))


TextsLike: TypeAlias = Iterable[str] | pd.Series | Corpus


def corpus(texts: TextsLike) -> Corpus:
    """The descriptions as a `Corpus` (returned as is when already one); missing texts read as "".

    Two raw texts that normalize alike ("Blurry!" and "blurry") share one distinct text.
    """
    if isinstance(texts, Corpus):
        return texts
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    raw_codes, raw = pd.factorize(series)  # hashing in C; a missing text gets -1
    raw_texts = list(map(str, raw))
    if (raw_codes < 0).any():
        raw_codes = np.where(raw_codes < 0, len(raw_texts), raw_codes)
        raw_texts.append("")
    codes, texts_ = pd.factorize(np.array(_normalize_texts(raw_texts), dtype=object))
    codes = codes[raw_codes].astype(np.intp)
    return Corpus(texts=list(texts_), codes=codes, counts=np.bincount(codes, minlength=len(texts_)), index=series.index)


def normalize(texts: TextsLike) -> pd.Series:
    """A Series of each description normalized (same index): lowercase; every run of characters
    other than letters, digits and apostrophes one space; no space at either end.

    After this, words are separated by exactly one space and no text contains a newline, which the
    matcher relies on.
    """
    c = corpus(texts)
    return pd.Series(np.array(c.texts, dtype=object)[c.codes], index=c.index, dtype=object)


def _is_in(values: np.ndarray, members: Iterable[str]) -> np.ndarray:
    """Boolean mask of the values that are in `members` (a hash table in C; no sort, no Python loop)."""
    return pd.Index(values, dtype=object).isin(list(members))


def _words(texts: list[str]) -> tuple[np.ndarray, IntArray]:
    """Every word of the normalized texts in order (object array), and the position of its text."""
    tokens = np.array(" \n ".join(texts).split(" "), dtype=object)
    separator = tokens == "\n"
    owner = np.cumsum(separator)
    word = ~separator & (tokens != "")  # an empty text leaves an empty token between separators
    return tokens[word], owner[word].astype(np.intp)


# --------------------------------------------------------------------------------------------
# Lexicon matching
# --------------------------------------------------------------------------------------------


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
        """The category of a matched stretch of text: that of the most specific term matching it whole."""
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


def _categorize_distinct(texts: list[str]) -> np.ndarray:
    """Boolean table (texts x 37 CATEGORIES) of normalized distinct texts; the rules are lexicon.py's."""
    n = len(texts)
    places_lex, artifacts_lex, extents_lex = _lexicons()

    places = _one_hot(places_lex.hits(texts), n, PLACES)
    places["not-specified"] = ~places.drop(columns="not-specified").any(axis=1)

    artifact_hits = artifacts_lex.hits(texts)
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

    modifiers = _one_hot(extents_lex.hits(texts), n, ("mild", "severe"))
    no_artifact = artifacts["none"].to_numpy()
    mild = ~no_artifact & modifiers["mild"].to_numpy()
    severe = ~no_artifact & ~mild & modifiers["severe"].to_numpy()
    extents = pd.DataFrame(
        {"no-artifact": no_artifact, "mild": mild, "moderate": ~(no_artifact | mild | severe), "severe": severe}
    )
    return pd.concat([places, artifacts, extents], axis=1)[list(CATEGORIES)].to_numpy()


def categorize(texts: TextsLike) -> pd.DataFrame:
    """One boolean row per description (same index), 37 columns in CATEGORIES order (rules in lexicon.py)."""
    c = corpus(texts)
    return pd.DataFrame(c.categories[c.codes], columns=list(CATEGORIES), index=c.index)


# --------------------------------------------------------------------------------------------
# Words and per-video category vectors
# --------------------------------------------------------------------------------------------


def tokens(texts: TextsLike, *, stop_words: frozenset[str] = STOP_WORDS) -> pd.Series:
    """A Series of every word of every description, one row per word, indexed by its description's index.

    Long format rather than a list per description, so counting and filtering stay vectorized.
    Stop words are removed (pass an empty set to keep them).
    """
    c = corpus(texts)
    words, owner = _words(c.texts)
    if stop_words:
        word_codes, distinct = pd.factorize(words)
        kept = ~_is_in(np.asarray(distinct, dtype=object), stop_words)[word_codes]
        words, owner = words[kept], owner[kept]
    # Each description repeats the words of its text: a ragged arange over the texts' word runs.
    per_text = np.bincount(owner, minlength=len(c.texts))
    start = np.concatenate([[0], np.cumsum(per_text)[:-1]]).astype(np.intp)
    lengths = per_text[c.codes]
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.repeat(start[c.codes], lengths) + offsets
    return pd.Series(words[positions], index=c.index.repeat(lengths), dtype=object)


def word_frequencies(texts: TextsLike, *, stop_words: frozenset[str] = STOP_WORDS, min_length: int = 2) -> pd.DataFrame:
    """Word counts over all descriptions (stop words and words shorter than `min_length` dropped).

    Returns a frame with columns word, count, share (of all kept words), most frequent first;
    ties by word.
    """
    c = corpus(texts)
    words, owner = _words(c.texts)
    word_codes, distinct = pd.factorize(words)
    distinct = np.asarray(distinct, dtype=object)
    counts = np.bincount(word_codes, weights=c.counts[owner], minlength=len(distinct)).astype(np.int64)
    lengths = np.fromiter(map(len, distinct), dtype=np.intp, count=len(distinct))
    keep = lengths >= min_length
    if stop_words:
        keep &= ~_is_in(distinct, stop_words)
    frame = pd.DataFrame({"word": distinct[keep].astype(str), "count": counts[keep]})
    frame = frame.sort_values(["count", "word"], ascending=[False, True], ignore_index=True)
    frame["share"] = frame["count"] / max(int(frame["count"].sum()), 1)
    return frame


def category_vectors(ratings: RatingsLike, *, text_column: str = "reason", texts: Corpus | None = None) -> pd.DataFrame:
    """Per video (index `video`, sorted), the share of its descriptions that hit each of the 37 categories.

    Returns a frame whose columns are CATEGORIES in order: the "category vector" the explanation
    metric compares (RMSE between predicted and true vectors). `texts`, when given, is the corpus of
    `ratings[text_column]` already built (same rows), so that it is matched once.
    """
    frame = as_frame(ratings, ("video",) if texts is not None else ("video", text_column))
    c = corpus(frame[text_column].reset_index(drop=True) if texts is None else texts)
    if len(c) != len(frame):
        raise ValueError(f"the corpus has {len(c)} descriptions for {len(frame)} ratings")
    video_codes, videos = pd.factorize(np.asarray(frame["video"]), sort=True)
    rated = video_codes >= 0  # a rating without a video label counts for no video
    # Descriptions per (video, distinct text), summed as a sparse matrix, times the text's table.
    per_video_text = sparse.csr_array(
        (np.ones(int(rated.sum())), (video_codes[rated], c.codes[rated])), shape=(len(videos), len(c.texts))
    )
    sums = per_video_text @ c.categories.astype(np.float64)
    n = np.bincount(video_codes[rated], minlength=len(videos)).astype(np.float64)
    return pd.DataFrame(sums / n[:, None], columns=list(CATEGORIES), index=pd.Index(videos, name="video"))


def category_shares(texts: TextsLike) -> pd.Series:
    """A Series of the share of all descriptions hitting each category, in CATEGORIES order (the bars of the paper's Fig. 8)."""
    c = corpus(texts)
    with np.errstate(invalid="ignore"):
        shares = (c.counts @ c.categories.astype(np.float64)) / len(c)
    return pd.Series(shares, index=list(CATEGORIES))
