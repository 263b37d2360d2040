"""Face detectors by name: YuNet (yuface), MTCNN (facenet-pytorch, where torch is installed) and OpenCV's Haar cascade.

Each detector is a small class that takes a BGR uint8 frame and returns the faces it found as
boxes with scores; `detector_class(name)` picks one by name, "auto" the first installed of
`AUTO_ORDER`. None of them downloads anything: YuNet's weights are compiled into yuface, MTCNN's
ship inside facenet-pytorch, the cascades inside opencv-python-headless (DOMAIN.md section 5).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from annotation.errors import ApplicationError

from .crops import Box

# YuNet finds frontal and turned faces at about 93 ms per 640x360 frame on this machine's CPU
# against 7 ms for the Haar cascade, but the cascade misses turned heads; MTCNN needs torch.
AUTO_ORDER = ("yunet", "mtcnn", "haar")

# yuface warns and loses accuracy on frames larger than 960 pixels a side; the cascade's cost
# grows with the pixel count. Larger frames are scaled down for detection and the boxes back up.
MAX_DETECTION_SIDE = 960


@dataclass(frozen=True)
class Face:
    """A detected face: its box (x, y, w, h) in the frame's pixels and the detector's confidence."""

    box: Box
    score: float


class Detector(ABC):
    """Finds faces in one BGR uint8 frame; one instance per process (a detector holds a loaded model)."""

    name: ClassVar[str]
    package: ClassVar[str]  # the distribution whose version the manifest records

    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """Whether the packages it needs are importable here."""

    @classmethod
    def version(cls) -> str:
        """The detector's package and version, e.g. "yuface 2023.5.1"."""
        return f"{cls.package} {importlib.metadata.version(cls.package)}"

    @abstractmethod
    def detect(self, frame: np.ndarray) -> list[Face]:
        """Every face found in `frame` (BGR uint8, height x width x 3)."""


DETECTORS: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Add a detector class under its name; a second class with the same name is refused."""
    if cls.name in DETECTORS or cls.name == "auto":
        raise ValueError(f"a detector named {cls.name!r} is already registered")
    DETECTORS[cls.name] = cls
    return cls


def detector_class(name: str) -> type[Detector]:
    """The registered detector called `name` ("auto": the first available of AUTO_ORDER).

    Raises ApplicationError("unknown_detector") for a name not registered and
    ApplicationError("detector_unavailable") when its packages are not installed.
    """
    if name == "auto":
        for candidate in AUTO_ORDER:
            if candidate in DETECTORS and DETECTORS[candidate].available():
                return DETECTORS[candidate]
        raise ApplicationError("detector_unavailable", "No face detector is installed: pip install yuface==2023.5.1.")
    if name not in DETECTORS:
        known = ", ".join(["auto", *DETECTORS])
        raise ApplicationError("unknown_detector", f"There is no face detector called {name!r}; choose one of {known}.")
    cls = DETECTORS[name]
    if not cls.available():
        raise ApplicationError("detector_unavailable", f"The {name} detector needs {cls.package}, which is not installed here.")
    return cls


def face_main(faces: list[Face]) -> Face | None:
    """The face a crop follows: the largest (the person the video is about; false detections are
    small), the more confident of two equal ones; None when there is none."""
    return max(faces, key=lambda f: (f.box[2] * f.box[3], f.score), default=None)


def _downscaled(frame: np.ndarray) -> tuple[np.ndarray, float]:
    """The frame scaled so that no side exceeds MAX_DETECTION_SIDE, and the factor applied."""
    height, width = frame.shape[:2]
    factor = min(1.0, MAX_DETECTION_SIDE / max(height, width))
    if factor == 1.0:
        return frame, 1.0
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), factor


def _faces(boxes: np.ndarray, scores: np.ndarray, factor: float) -> list[Face]:
    return [Face(box=tuple(float(v) / factor for v in box), score=float(score)) for box, score in zip(boxes, scores)
            if box[2] > 0 and box[3] > 0]


@register
class YuNet(Detector):
    """libfacedetection's YuNet, compiled into yuface; scores 0..1 (yuface's 0..100 over 100)."""

    name = "yunet"
    package = "yuface"
    threshold = 0.5  # yuface's own default

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec("yuface") is not None

    def __init__(self) -> None:
        import yuface

        self._detect = yuface.detect

    def detect(self, frame: np.ndarray) -> list[Face]:
        small, factor = _downscaled(frame)
        # yuface's boxes are int16 (its documentation says uint16): a face cut by the left or top
        # edge comes back with a negative x or y, which must stay negative.
        scores, boxes, _ = self._detect(np.ascontiguousarray(small), conf=self.threshold)
        return _faces(boxes.astype(np.float64), scores.astype(np.float64) / 100.0, factor)


@register
class Haar(Detector):
    """OpenCV's frontal-face Haar cascade; the score is the final stage's weight (larger is surer)."""

    name = "haar"
    package = "opencv-python-headless"
    cascade = "haarcascade_frontalface_default.xml"
    min_neighbors = 5
    min_face_fraction = 1 / 8  # of the frame's shorter side: smaller finds are background texture

    @classmethod
    def available(cls) -> bool:
        return True  # OpenCV is a dependency of the project

    @classmethod
    def version(cls) -> str:
        # OpenCV's own version: the wheel may be opencv-python or -contrib rather than -headless.
        return f"opencv {cv2.__version__} {cls.cascade}"

    def __init__(self) -> None:
        self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + self.cascade)
        if self._cascade.empty():
            raise ApplicationError("detector_unavailable", f"OpenCV ships no {self.cascade} here (OpenCV 5 wheels have no cascades).")

    def detect(self, frame: np.ndarray) -> list[Face]:
        small, factor = _downscaled(frame)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        least = max(16, round(min(gray.shape) * self.min_face_fraction))
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(least, least), outputRejectLevels=True
        )
        return _faces(np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(weights, np.float64).ravel(), factor)


@register
class Mtcnn(Detector):
    """facenet-pytorch's MTCNN (installed with --no-deps beside torch); scores are probabilities. On a
    CUDA GPU when there is one."""

    name = "mtcnn"
    package = "facenet-pytorch"

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("facenet_pytorch") is not None

    def __init__(self) -> None:
        import torch
        from facenet_pytorch import MTCNN

        self._net = MTCNN(keep_all=True, device="cuda" if torch.cuda.is_available() else "cpu")

    def detect(self, frame: np.ndarray) -> list[Face]:
        small, factor = _downscaled(frame)
        rgb = np.ascontiguousarray(small[..., ::-1])
        corners, probs = self._net.detect(rgb)
        if corners is None:
            return []
        corners = np.asarray(corners, np.float64)
        boxes = np.column_stack([corners[:, 0], corners[:, 1], corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1]])
        return _faces(boxes, np.asarray(probs, np.float64), factor)
