"""Animated synthetic identities: drawn faces that blink, talk and move, for the demo study's videos.

An identity is a set of drawing parameters (face shape, skin tone, hair, eyes, brows, mouth,
background) derived from a seed; a take is one performance of it (blinks, speech, head motion).
Everything is drawn with OpenCV primitives in a canonical head canvas of 256 x 256 units, then
warped into the frame by the head pose, so a face-swap method can render identity B's inner face
with identity A's expression and pose (swaps.py). The faces are simple but have the light-dark
layout of a real frontal face (dark brows, eye sockets, nostrils and mouth over brighter skin), so
OpenCV's Haar frontal-face cascade finds them; tests measure how often.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

CANVAS = 256  # canonical head canvas, in units; scaled by `Scene.k` to pixels
CENTER = (128.0, 124.0)  # centre of the face ellipse in the canvas

# Skin tones (BGR) from light to dark; pairs are made of neighbouring tones (as face-swap pairs are
# chosen), and the identities of a study spread over the whole range.
SKIN_TONES = (
    (196, 214, 244), (170, 196, 234), (150, 180, 222), (120, 160, 205),
    (98, 134, 184), (78, 110, 160), (62, 88, 130), (48, 68, 104),
)
HAIR_COLORS = {
    "black": (28, 26, 30), "dark brown": (30, 45, 70), "brown": (45, 75, 115), "auburn": (40, 60, 140),
    "blond": (110, 175, 215), "grey": (150, 150, 155),
}
EYE_COLORS = {"brown": (40, 70, 110), "dark brown": (25, 40, 60), "blue": (160, 110, 60), "green": (90, 130, 70),
              "grey": (120, 120, 115)}
HAIR_STYLES = ("short", "long", "bun", "curly", "bangs", "crew")
BACKGROUNDS = {
    "blue wall": ((190, 150, 110), (150, 110, 80)), "green wall": ((150, 190, 150), (110, 150, 110)),
    "beige room": ((170, 200, 220), (120, 150, 175)), "grey studio": ((160, 160, 160), (95, 95, 95)),
    "dark office": ((90, 80, 70), (55, 50, 45)), "warm room": ((120, 160, 210), (80, 110, 160)),
}
CLOTHES = ((60, 40, 30), (40, 40, 120), (120, 90, 40), (50, 50, 50), (150, 150, 150), (40, 100, 60))


@dataclass(frozen=True)
class Identity:
    """Drawing parameters of one person. Lengths are in canvas units (the canvas is 256 wide)."""

    key: str
    presentation: str  # "woman" or "man": only used to describe the person in grade-5 texts
    skin_tone: int  # index into SKIN_TONES
    face_w: float  # half-axes of the face ellipse
    face_h: float
    jaw: float  # 0 round chin .. 1 narrow chin
    hair_color: str
    hair_style: str
    eye_color: str
    eye_gap: float  # half distance between the eyes
    eye_size: float
    brow_thickness: float
    brow_tilt: float  # degrees, positive = outer ends down
    mouth_width: float
    lip_tone: float  # 0 pale .. 1 red
    nose_length: float
    beard: bool
    background: str
    clothes: int

    @property
    def skin(self) -> np.ndarray:
        return np.array(SKIN_TONES[self.skin_tone], dtype=np.float32)

    def traits(self) -> dict[str, str | bool]:
        """What a viewer can tell about the person (wording.py describes the person from these)."""
        return {"presentation": self.presentation, "hair_color": self.hair_color, "hair_style": self.hair_style,
                "eye_color": self.eye_color, "background": self.background, "beard": self.beard}


def identity_make(index: int, *, seed: int) -> Identity:
    """The `index`-th identity of a study: pairs (2i, 2i+1) share a presentation and have close skin tones.

    Pair i gets presentation woman/man alternately and a skin tone that walks across SKIN_TONES, so a
    study of any size is balanced in both, as the paper's 20 pairs are.
    """
    pair, member = divmod(index, 2)
    rng = np.random.default_rng([seed, pair, member, 7919])
    pair_rng = np.random.default_rng([seed, pair, 104729])
    presentation = "woman" if pair % 2 == 0 else "man"
    base_tone = (pair * 3 + int(pair_rng.integers(0, 2))) % (len(SKIN_TONES) - 1)
    skin_tone = base_tone + member  # the two members differ by one step
    styles = ("long", "bun", "bangs", "curly", "short") if presentation == "woman" else ("short", "crew", "curly", "short")
    return Identity(
        key=f"p{pair + 1:02d}{'ab'[member]}",
        presentation=presentation,
        skin_tone=skin_tone,
        face_w=float(rng.uniform(56, 66)),
        face_h=float(rng.uniform(76, 86)),
        jaw=float(rng.uniform(0.1, 0.9)),
        hair_color=str(rng.choice(list(HAIR_COLORS))),
        hair_style=str(rng.choice(styles)),
        eye_color=str(rng.choice(list(EYE_COLORS))),
        eye_gap=float(rng.uniform(22, 27)),
        eye_size=float(rng.uniform(8.5, 11)),
        brow_thickness=float(rng.uniform(3.5, 6.5)),
        brow_tilt=float(rng.uniform(-8, 8)),
        mouth_width=float(rng.uniform(17, 24)),
        lip_tone=float(rng.uniform(0.2, 0.9)),
        nose_length=float(rng.uniform(18, 26)),
        beard=bool(presentation == "man" and rng.random() < 0.35),
        background=str(rng.choice(list(BACKGROUNDS))),
        clothes=int(rng.integers(0, len(CLOTHES))),
    )


# --- Performances ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """One performance: per-frame expression (mouth, blink, brows) and head pose, all arrays of n frames."""

    mouth: np.ndarray  # 0 closed .. 1 wide open
    blink: np.ndarray  # 0 open .. 1 closed
    brow: np.ndarray  # brow raise in units
    dx: np.ndarray  # head translation, in canvas units
    dy: np.ndarray
    angle: np.ndarray  # degrees
    zoom: np.ndarray  # relative scale

    @property
    def frames(self) -> int:
        return len(self.mouth)


def take_make(*, frames: int, fps: float, seed: int) -> Take:
    """Speech with syllables and pauses, blinks every 2-5 s, slow small head motion."""
    rng = np.random.default_rng([seed, 31337])
    t = np.arange(frames) / fps
    # Speech: syllables at 3-5 Hz, gated by phrases with pauses.
    syllable = np.abs(np.sin(np.pi * t * rng.uniform(3.0, 4.5) + rng.uniform(0, np.pi)))
    syllable *= 0.6 + 0.4 * np.abs(np.sin(np.pi * t * rng.uniform(1.1, 1.7) + rng.uniform(0, np.pi)))
    gate = np.ones(frames)
    start = rng.uniform(0.6, 1.6)
    while start < t[-1] if frames else False:
        pause = (t >= start) & (t < start + rng.uniform(0.25, 0.6))
        gate[pause] = 0.0
        start += rng.uniform(1.0, 2.2)
    gate = np.convolve(gate, np.ones(3) / 3, mode="same")
    mouth = np.clip(syllable * gate * rng.uniform(0.7, 1.0), 0, 1)
    # Blinks: about 0.2 s closing and opening.
    blink = np.zeros(frames)
    when = rng.uniform(0.3, 2.0)
    shape = np.array([0.35, 0.8, 1.0, 0.8, 0.35])
    while when < (t[-1] if frames else 0):
        i = int(when * fps)
        span = blink[i:i + len(shape)]
        span[:] = np.maximum(span, shape[:len(span)])
        when += rng.uniform(2.0, 5.0)
    brow = 2.5 * np.clip(np.sin(2 * np.pi * t * rng.uniform(0.15, 0.35) + rng.uniform(0, 6)), 0, 1) ** 2

    def wander(amplitude: float) -> np.ndarray:
        f1, f2 = rng.uniform(0.1, 0.35), rng.uniform(0.4, 0.8)
        return amplitude * (0.7 * np.sin(2 * np.pi * f1 * t + rng.uniform(0, 6)) + 0.3 * np.sin(2 * np.pi * f2 * t + rng.uniform(0, 6)))

    return Take(mouth=mouth, blink=blink, brow=brow, dx=wander(5.0), dy=wander(3.0), angle=wander(3.0),
                zoom=1.0 + wander(0.02))


# --- Drawing -------------------------------------------------------------------------------------


def _pt(x: float, y: float, k: float) -> tuple[int, int]:
    return int(round(x * k * 16)), int(round(y * k * 16))


def _ellipse(img, center, axes, angle, color, k, thickness=-1, start=0, end=360):
    cv2.ellipse(img, _pt(*center, k), (max(int(round(axes[0] * k * 16)), 1), max(int(round(axes[1] * k * 16)), 1)),
                angle, start, end, color, thickness if thickness < 0 else max(int(round(thickness * k)), 1),
                cv2.LINE_AA, 4)


def _poly(img, points, color, k):
    pts = np.round(np.asarray(points, dtype=np.float64) * k * 16).astype(np.int32)
    cv2.fillPoly(img, [pts], color, cv2.LINE_AA, 4)


def _shade(color, factor: float) -> tuple[float, float, float]:
    return tuple(float(min(255.0, c * factor)) for c in color)


class Scene:
    """Draws one identity at one output size: cached static layers, per-frame features."""

    def __init__(self, identity: Identity, *, width: int, height: int):
        self.identity = identity
        self.width, self.height = width, height
        # The head canvas spans about 70% of the frame height.
        self.k = height * 0.72 / CANVAS
        self.size = int(round(CANVAS * self.k))

    # Static layers, computed once per scene.

    @cached_property
    def background(self) -> np.ndarray:
        top, bottom = (np.array(c, dtype=np.float32) for c in BACKGROUNDS[self.identity.background])
        ramp = np.linspace(0, 1, self.height, dtype=np.float32)[:, None, None]
        img = top * (1 - ramp) + bottom * ramp
        img = np.repeat(img, self.width, axis=1)
        rng = np.random.default_rng(zlib.crc32(self.identity.background.encode()))
        # A few soft shapes (a window, a shelf, a lamp) so backgrounds differ in structure too.
        for _ in range(3):
            x, y = rng.uniform(0, self.width), rng.uniform(0, self.height * 0.6)
            w, h = rng.uniform(0.08, 0.25) * self.width, rng.uniform(0.1, 0.3) * self.height
            tint = rng.uniform(0.8, 1.2)
            cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), tuple(float(c) * tint for c in img[int(y), int(x)]), -1)
        img = cv2.GaussianBlur(img, (0, 0), max(self.height / 120, 1))
        return to_uint8(img)

    @cached_property
    def skin(self) -> tuple[float, float, float]:
        return tuple(float(c) for c in self.identity.skin)

    @cached_property
    def head_base(self) -> tuple[np.ndarray, np.ndarray]:
        """The head without its moving features: hair, ears, shaded face, nose. BGR uint8 and alpha (float32)."""
        ident, k, n = self.identity, self.k, self.size
        img = np.zeros((n, n, 3), np.float32)
        alpha = np.zeros((n, n), np.float32)
        cx, cy = CENTER
        hair = tuple(float(c) for c in HAIR_COLORS[ident.hair_color])
        fw, fh = ident.face_w, ident.face_h

        def opaque(draw, color) -> None:
            """Draw a shape into the image in `color` and into the alpha mask as opaque."""
            draw(img, color)
            draw(alpha, 1.0)

        # Hair behind the head.
        if ident.hair_style == "long":
            opaque(lambda m, c: _ellipse(m, (cx, cy + 22), (fw + 17, fh + 26), 0, c, k), hair)
        if ident.hair_style == "bun":
            opaque(lambda m, c: _ellipse(m, (cx, cy - fh - 14), (24, 20), 0, c, k), hair)
        grow = {"long": 12, "bun": 8, "bangs": 10, "curly": 16, "short": 8, "crew": 4}[ident.hair_style]
        opaque(lambda m, c: _ellipse(m, (cx, cy - 6), (fw + grow, fh + grow * 0.8), 0, c, k), hair)
        # Ears.
        for side in (-1, 1):
            opaque(lambda m, c, s=side: _ellipse(m, (cx + s * (fw - 2), cy + 6), (9, 16), 0, c, k), _shade(self.skin, 0.9))
        # Face: an ellipse whose lower half narrows by the jaw parameter.
        _ellipse(img, (cx, cy), (fw, fh), 0, self.skin, k)
        _ellipse(alpha, (cx, cy), (fw, fh), 0, 1.0, k)
        jaw = ident.jaw * 10
        _poly(img, [(cx - fw + 1, cy + 10), (cx + fw - 1, cy + 10), (cx + fw - 8 - jaw, cy + fh - 18),
                    (cx, cy + fh + 2), (cx - fw + 8 + jaw, cy + fh - 18)], self.skin, k)
        if ident.beard:
            _ellipse(img, (cx, cy + fh * 0.55), (fw * 0.75, fh * 0.42), 0, _shade(self.skin, 0.78), k, start=0, end=180)
        # Shading: darker towards the rim, the light from the upper left.
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / k
        r = ((xx - cx) / fw) ** 2 + ((yy - cy) / fh) ** 2
        light = 1.05 - 0.22 * np.clip(r, 0, 1.2) ** 1.5 - 0.05 * (xx - cx) / fw
        img *= light[..., None]
        # Eye sockets, lit cheekbones and nose: the dark-bright layout the Haar cascade looks for.
        # Darker skin gets stronger highlights, as it does under studio light, so the layout keeps
        # its contrast on every tone.
        shine = 1.08 + 0.25 * (1 - float(np.mean(self.skin)) / 200)
        for side in (-1, 1):
            _ellipse(img, (cx + side * (ident.eye_gap + 4), cy + 14), (13, 7), 0, _shade(self.skin, shine * 0.98), k)
            _ellipse(img, (cx + side * ident.eye_gap, cy - 8), (ident.eye_size + 6, ident.eye_size + 2), 0,
                     _shade(self.skin, 0.66), k)
        _poly(img, [(cx - 3, cy - 6), (cx + 3, cy - 6), (cx + 6, cy - 6 + ident.nose_length), (cx - 6, cy - 6 + ident.nose_length)],
              _shade(self.skin, shine), k)
        nose_y = cy - 4 + ident.nose_length
        for side in (-1, 1):
            _ellipse(img, (cx + side * 5, nose_y), (3.2, 2.2), 0, _shade(self.skin, 0.45), k)
        _ellipse(img, (cx, nose_y + 4), (9, 2.5), 0, _shade(self.skin, 0.85), k)
        # Hair in front: the hairline.
        # The hair's lower edge stays above the brows (a chord at cy - drop), the crown height varies.
        drop = {"bangs": 34, "long": 42, "bun": 44, "curly": 40, "short": 42, "crew": 46}[ident.hair_style]
        opaque(lambda m, c: _ellipse(m, (cx, cy - drop), (fw + 3, fh - drop + 8), 0, c, k, start=180, end=360), hair)
        img = cv2.GaussianBlur(img, (0, 0), 0.8 * k)
        alpha = cv2.GaussianBlur(alpha, (0, 0), 0.8 * k)
        return to_uint8(img), alpha

    @cached_property
    def inner_mask(self) -> np.ndarray:
        """Where a face swap replaces the face: brows to chin, inside the face outline (canvas pixels)."""
        ident, k, n = self.identity, self.k, self.size
        mask = np.zeros((n, n), np.float32)
        cx, cy = CENTER
        _ellipse(mask, (cx, cy + 14), (ident.face_w * 0.84, ident.face_h * 0.68), 0, 1.0, k)
        return mask

    @cached_property
    def face_base(self) -> np.ndarray:
        """The head base over a canvas filled with skin, so a swap never pastes the empty canvas corners."""
        base, alpha = self.head_base
        skin = np.empty_like(base)
        skin[:] = np.array(self.skin).round().astype(np.uint8)
        return cv2.blendLinear(base, skin, alpha, 1.0 - alpha)

    # Per-frame drawing.

    def features(self, img: np.ndarray, *, mouth: float, blink: float, brow: float, identity: Identity | None = None) -> None:
        """Draw eyes, brows and mouth of `identity` (default: this scene's) onto a head canvas, in place."""
        ident, k = identity or self.identity, self.k
        cx, cy = CENTER
        skin = tuple(float(c) for c in ident.skin)
        iris = EYE_COLORS[ident.eye_color]
        for side in (-1, 1):
            ex, ey = cx + side * ident.eye_gap, cy - 8
            w, h = ident.eye_size, ident.eye_size * 0.55
            _ellipse(img, (ex, ey), (w, h), 0, (235, 238, 240), k)
            _ellipse(img, (ex, ey), (h * 0.95, h * 0.95), 0, iris, k)
            _ellipse(img, (ex, ey), (h * 0.45, h * 0.45), 0, (10, 10, 12), k)
            if blink > 0.05:
                _ellipse(img, (ex, ey - h * (1 - blink)), (w + 1, h * blink + 0.8), 0, _shade(skin, 0.8), k)
            _ellipse(img, (ex, ey), (w, h), 0, (30, 30, 35), k, thickness=1.1, start=180, end=360)
            by = cy - 24 - brow
            # Brows are always darker than the skin, whatever the hair colour.
            brow_color = np.minimum(HAIR_COLORS[ident.hair_color], np.array(skin) * 0.45)
            _ellipse(img, (ex, by), (ident.eye_size + 4, ident.brow_thickness), side * ident.brow_tilt,
                     tuple(float(c) for c in brow_color), k, start=180, end=360)
            _ellipse(img, (ex, by), (ident.eye_size + 4, ident.brow_thickness * 0.5), side * ident.brow_tilt,
                     (40, 45, 55), k, start=190, end=350)
        my = cy + 42 + (ident.face_h - 80) * 0.3
        lip = (skin[0] * 0.55, skin[1] * 0.5, min(255.0, skin[2] * (0.7 + 0.4 * ident.lip_tone)))
        open_h = 1.5 + 11 * mouth
        _ellipse(img, (cx, my), (ident.mouth_width, open_h + 4), 0, lip, k)
        _ellipse(img, (cx, my), (ident.mouth_width * 0.8, open_h), 0, (25, 20, 45), k)
        if mouth > 0.3:
            _ellipse(img, (cx, my - open_h * 0.55), (ident.mouth_width * 0.6, open_h * 0.3), 0, (225, 230, 235), k)

    def head(self, *, mouth: float, blink: float, brow: float) -> tuple[np.ndarray, np.ndarray]:
        """The whole head of this identity for one frame (canvas image and alpha)."""
        base, alpha = self.head_base
        img = base.copy()
        self.features(img, mouth=mouth, blink=blink, brow=brow)
        return img, alpha

    def pose_matrix(self, take: Take, t: int, *, offset=(0.0, 0.0), angle=0.0, zoom=1.0) -> np.ndarray:
        """Affine map from the head canvas to the frame for frame `t` (plus an optional extra offset)."""
        k = self.k
        cx = self.width / 2 + (take.dx[t] + offset[0]) * k
        cy = self.height * 0.47 + (take.dy[t] + offset[1]) * k
        m = cv2.getRotationMatrix2D((CENTER[0] * k, CENTER[1] * k), float(take.angle[t] + angle), float(take.zoom[t] * zoom))
        m[0, 2] += cx - CENTER[0] * k
        m[1, 2] += cy - CENTER[1] * k
        return m

    def body(self, img: np.ndarray, take: Take, t: int) -> None:
        """Neck and shoulders, following the head's sideways motion a little."""
        k, w, h = self.k, self.width, self.height
        x = w / 2 + take.dx[t] * k * 0.4
        neck_top = h * 0.47 + (CENTER[1] + 40 - CENTER[1]) * k
        cv2.rectangle(img, (int(x - 24 * k), int(neck_top)), (int(x + 24 * k), int(h * 0.95)), _shade(self.skin, 0.82), -1, cv2.LINE_AA)
        cv2.ellipse(img, (int(x), int(h + 20 * k)), (int(120 * k), int(70 * k)), 0, 180, 360, CLOTHES[self.identity.clothes], -1, cv2.LINE_AA)

    def box(self, matrix: np.ndarray) -> tuple[int, int, int, int]:
        """The frame rectangle (x0, y0, x1, y1) covered by the head canvas under `matrix`, clipped to the frame."""
        n = self.size
        corners = np.array([[0, 0, 1], [n, 0, 1], [0, n, 1], [n, n, 1]], np.float64) @ matrix.T
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        return max(x0, 0), max(y0, 0), min(x1, self.width), min(y1, self.height)

    @staticmethod
    def warp(layer: np.ndarray, matrix: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """Warp a canvas layer into the frame rectangle `box` only (the rest of the frame is untouched)."""
        x0, y0, x1, y1 = box
        shifted = matrix.copy()
        shifted[:, 2] -= (x0, y0)
        return cv2.warpAffine(layer, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    @staticmethod
    def paste(frame: np.ndarray, layer: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int]) -> None:
        """Alpha-blend a warped layer into `frame` within `box`, in place (alpha float32 in [0, 1])."""
        x0, y0, x1, y1 = box
        roi = frame[y0:y1, x0:x1]
        frame[y0:y1, x0:x1] = cv2.blendLinear(layer, roi, alpha, 1.0 - alpha)

    def frame(self, take: Take, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame `t` of this identity's own (real) video, uint8 BGR, and the head pose matrix used."""
        img = self.background.copy()
        self.body(img, take, t)
        head, alpha = self.head(mouth=take.mouth[t], blink=take.blink[t], brow=take.brow[t])
        m = self.pose_matrix(take, t)
        box = self.box(m)
        self.paste(img, self.warp(head, m, box), self.warp(alpha, m, box), box)
        return img, m


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
