"""The design of a DREAM-shaped demo study: which clips exist, their roles and their ground truth.

Pure planning, no pixels and no database: `study_plan(config)` lists every clip (identity pair,
method, direction, artifact strengths, latent realism, role) deterministically from the config's
seed. build.py renders and imports the plan; crowd.py has annotators rate it.

The shape follows the paper (DOMAIN.md sections 1 and 3): identity pairs x methods, each fake made
in both directions of its pair (A's video with B's face and the reverse; 20 pairs x 35 methods x 2
= 1,400 fakes in the paper), plus each identity's real videos (40 identities x 3 real "methods" =
120), so 1,520 videos at the dream size. Checkers are drawn from the plan itself by the gold rule
(realism.gold_score): every real video (gold 5) and every fake of realism 1.5 or less (gold 1), as
in the paper. Three extra pairs provide the five lecture demos, one per grade, each of a different
person (DEMO_CAST).
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from .faces import identity_make
from .realism import gold_score, latent_realism
from .swaps import ClipSpec, Method, method_catalog

VERSION = "synthetic-dream/1"


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a demo study; `SIZES` has the two presets, the command overrides fields."""

    pairs: int
    fake_methods: int
    real_methods: int
    very_poor_methods: int
    annotators: int
    target_ratings_per_video: int
    width: int = 640
    height: int = 360
    fps: int = 25
    seconds: float = 3.0
    videos_per_session: int = 40
    checkers_per_session: int = 5
    seed: int = 2025

    def __post_init__(self):
        if self.pairs < 1 or self.fake_methods < 1 or self.real_methods < 1:
            raise ValueError("a study needs at least one pair, one fake method and one real method")
        if self.width % 2 or self.height % 2 or self.width < 64 or self.height < 64:
            raise ValueError("width and height must be even and at least 64 pixels")


SIZES: Mapping[str, StudyConfig] = {
    # Quick to build on a laptop: 54 videos (42 regular, 12 checkers), 48 annotators, room left for you.
    "small": StudyConfig(pairs=3, fake_methods=8, real_methods=1, very_poor_methods=1, annotators=48,
                         target_ratings_per_video=50, seconds=2.0),
    # The paper's shape: 20 pairs x (35 fake + 3 real) methods, 1,520 videos, 3,500 annotators.
    "dream": StudyConfig(pairs=20, fake_methods=35, real_methods=3, very_poor_methods=2, annotators=3500,
                         target_ratings_per_video=100, seconds=5.0),
}


@dataclass(frozen=True)
class PlannedClip:
    """One video of the study with its ground truth."""

    spec: ClipSpec
    pair: str
    method: str
    is_real: bool
    realism: float
    target_key: str  # identity whose video it is
    source_key: str  # identity whose face it shows (the target's own for a real video)
    gold_score: int | None = None
    demo_grade: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def strengths(self) -> Mapping[str, float]:
        return self.spec.strengths


@dataclass(frozen=True)
class StudyPlan:
    config: StudyConfig
    methods: list[Method]
    clips: list[PlannedClip] = field(default_factory=list)

    @property
    def checkers(self) -> list[PlannedClip]:
        return [c for c in self.clips if c.gold_score is not None]

    @property
    def regular(self) -> list[PlannedClip]:
        return [c for c in self.clips if c.gold_score is None and c.demo_grade is None]

    @property
    def demos(self) -> list[PlannedClip]:
        return [c for c in self.clips if c.demo_grade is not None]


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def study_plan(config: StudyConfig) -> StudyPlan:
    """Every clip of the study, in a stable order (pairs, then methods, then directions)."""
    methods = method_catalog(fake=config.fake_methods, real=config.real_methods,
                             very_poor=config.very_poor_methods, seed=config.seed)
    base = ClipSpec(name="", target=0, source=None, strengths={}, take_seed=0, artifact_seed=0, identity_seed=config.seed,
                    width=config.width, height=config.height, fps=config.fps, seconds=config.seconds)
    clips: list[PlannedClip] = []
    for pair in range(config.pairs):
        members = (2 * pair, 2 * pair + 1)
        keys = [identity_make(i, seed=config.seed).key for i in members]
        for method in methods:
            if method.is_real:
                directions = [(members[0], None), (members[1], None)]
            else:
                directions = [(members[0], members[1]), (members[1], members[0])]
            for target, source in directions:
                clips.append(_clip(base, config, f"pair{pair + 1:02d}", method, target, source, keys, members))
    return StudyPlan(config, methods, clips + _demos(base, config, methods))


def _clip(base: ClipSpec, config: StudyConfig, pair: str, method: Method, target: int, source: int | None,
          keys: list[str], members: tuple[int, int], demo_grade: int | None = None) -> PlannedClip:
    if demo_grade is None:
        # Both directions of a pair share the method's pair factor; each video has its own spread on top.
        pair_factor = method.pair_factor(np.random.default_rng(_seed(config.seed, "pair-factor", pair, method.name)))
        strengths = method.strengths_for_video(np.random.default_rng(_seed(config.seed, pair, method.name, target)), pair_factor)
    else:
        strengths = dict(method.profile)  # a lecture demo shows the method's median video, the grade it was chosen for
    # Every fake of a target is made from the target's first take (one source video per person, as
    # in DFGC); real method N shows the person's take N.
    take = 0 if source is not None else int(method.name.removeprefix("real")) - 1
    if demo_grade is not None:
        take = 10 + demo_grade  # each demo its own performance: two grades may share a method
    target_key = keys[members.index(target)]
    source_key = keys[members.index(source)] if source is not None else target_key
    direction = f"{target_key}-{source_key}" if source is not None else target_key
    spec = replace(base, name=f"{pair}_{method.name}_{direction}.mp4", target=target, source=source,
                   strengths=strengths, take_seed=_seed(config.seed, "take", target, take),
                   artifact_seed=_seed(config.seed, "artifacts", pair, method.name, target, demo_grade))
    realism = latent_realism(strengths)
    return PlannedClip(
        spec=spec, pair=pair, method=method.name, is_real=method.is_real, realism=round(realism, 4),
        target_key=target_key, source_key=source_key,
        gold_score=None if demo_grade is not None else gold_score(is_real=method.is_real, realism=realism),
        demo_grade=demo_grade,
    )


# The lecture's cast: (grade, target, face) as indices into the six identities of three extra pairs.
# Five demos, five different people's videos: annotators see several faces, not one person's five
# times (which taught them that person rather than the grades). Grade 5 is person 0's real video and
# grade 4 puts person 0's face on their partner's video, so the best fake can be told from a face
# already seen for real; the weaker fakes swap within the two other pairs, as the study's fakes do.
DEMO_CAST = ((5, 0, None), (4, 1, 0), (3, 2, 3), (2, 3, 2), (1, 4, 5))


def _demos(base: ClipSpec, config: StudyConfig, methods: list[Method]) -> list[PlannedClip]:
    """Five lecture demos on three extra pairs (DEMO_CAST): a real video for grade 5, fakes of the nearest realism for 1-4."""
    members = tuple(range(2 * config.pairs, 2 * config.pairs + 6))
    keys = [identity_make(i, seed=config.seed).key for i in members]
    fakes = [m for m in methods if not m.is_real]
    real = next(m for m in methods if m.is_real)
    demos = []
    for grade, target, face in DEMO_CAST:
        method = real if grade == 5 else min(fakes, key=lambda m: abs(latent_realism(m.profile) - grade))
        source = None if face is None else members[face]
        demos.append(_clip(base, config, "demo", method, members[target], source, keys, members, demo_grade=grade))
    return [replace(d, spec=replace(d.spec, name=f"demo_grade{d.demo_grade}.mp4")) for d in demos]
