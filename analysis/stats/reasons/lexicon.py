"""The reasons taxonomy and its lexicon: 14 places, 19 artifacts and 4 extents, and the words that name them.

The taxonomy is the paper's (section III-C, Fig. 8; DOMAIN.md section 2). The paper assigned
categories with a prompted LLM; here a fixed lexicon does it, so the assignment is reproducible and
reviewable. The lexicon is the three tables below (PLACE_TERMS, ARTIFACT_TERMS, EXTENT_TERMS): add
a synonym by adding a string to a tuple. `matching.py` compiles and applies them, `flags.py` uses
the result to flag suspicious reasons.

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
"""
from __future__ import annotations

from collections.abc import Mapping

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
