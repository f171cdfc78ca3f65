"""Face landmarks from a photo or a video frame: mediapipe's face mesh (478 points with the iris
refinement) and the checks that tell a user why a photo cannot be fitted.

Reusable pieces (photo fitting and video-driven animation both use them)::

    with LandmarkDetector(video=True) as detector:          # one detector for many frames
        faces = detector.detect(frame)                      # list[FaceLandmarks], largest first
    found = detect_face(photo)                              # one photo: checks + the largest face

Coordinates: ``points[:, :2]`` are continuous pixel coordinates of the image (x right, y down, the
image spans [0, W] x [0, H]), as :meth:`head360.cameras.Camera.project` returns them. ``points[:, 2]``
is mediapipe's relative depth in pixels (scaled like x; smaller = nearer the camera), only roughly metric.
Index meanings are mediapipe's (e.g. 33 is the subject's RIGHT eye's outer corner, on the image's left in
a frontal photo; 1 the nose tip; 152 the chin; 468 / 473 the right / left iris centres).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from head360.errors import Head360Error

NUM_POINTS = 478
"""Points per face with the iris refinement (468 face mesh + 2 x 5 iris points)."""

NOSE_TIP, CHIN, FOREHEAD = 1, 152, 10
RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER = 33, 133, 362, 263
RIGHT_IRIS, LEFT_IRIS = 468, 473
MOUTH_RIGHT, MOUTH_LEFT = 61, 291

MIN_FACE_PIXELS = 64
"""A face whose forehead-to-chin height is smaller than this (pixels) is refused: too few pixels."""
SMALL_FACE_PIXELS = 100
"""Below this the fit works but the result is blurry: a warning."""
PROFILE_WARN_DEG = 30.0
"""Head yaw beyond which the photo counts as a profile (warning: the method needs a near-frontal face)."""
PROFILE_REFUSE_DEG = 65.0
"""Head yaw beyond which the face is refused (half the face is hidden)."""


@dataclass
class FaceLandmarks:
    """One face. points: [478, 3] float32 (x, y pixels; z relative depth in pixels); image_size (W, H)."""

    points: np.ndarray
    image_size: tuple[int, int]

    @property
    def xy(self) -> np.ndarray:
        """[478, 2] pixel coordinates."""
        return self.points[:, :2]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the face-mesh points (may extend past the image when the face is cut off)."""
        p = self.points[:468, :2]
        return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return (x1 - x0) * (y1 - y0)

    @property
    def face_height(self) -> float:
        """Forehead (10) to chin (152) distance in pixels."""
        return float(np.linalg.norm(self.points[FOREHEAD, :2] - self.points[CHIN, :2]))

    @property
    def eye_distance(self) -> float:
        """Distance between the two iris centres (pixels)."""
        return float(np.linalg.norm(self.points[RIGHT_IRIS, :2] - self.points[LEFT_IRIS, :2]))

    def fraction_outside(self, margin: float = 0.0) -> float:
        """Share of the face-oval points that lie outside the image (``margin`` pixels inside the border)."""
        w, h = self.image_size
        p = self.points[face_region("face_oval"), :2]
        out = (p[:, 0] < margin) | (p[:, 1] < margin) | (p[:, 0] > w - margin) | (p[:, 1] > h - margin)
        return float(out.mean())

    def yaw_deg(self) -> float:
        """Rough head yaw from mediapipe's depths (0 = frontal, positive = the subject turned to their
        left, i.e. the camera sees more of the right cheek). The mesh fit gives a better figure."""
        r, l_ = self.points[RIGHT_EYE_OUTER], self.points[LEFT_EYE_OUTER]
        dx, dz = float(l_[0] - r[0]), float(l_[2] - r[2])
        return math.degrees(math.atan2(-dz, dx))


@dataclass
class FaceDetection:
    """The face chosen in a photo and what the user should be told about it."""

    face: FaceLandmarks
    num_faces: int
    warnings: list[str] = field(default_factory=list)


class LandmarkDetector:
    """mediapipe face mesh (legacy solution, models bundled in the package: works offline).

    video: False for independent photos (every image detected from scratch); True for the frames of a
    video (mediapipe tracks the face from frame to frame: faster and steadier).
    max_faces: how many faces to look for. refine: the iris refinement (478 points instead of 468).
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, video: bool = False, max_faces: int = 4, refine: bool = True, min_confidence: float = 0.5):
        os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's C++ logging: errors only
        from mediapipe.python.solutions import face_mesh

        self.refine = refine
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=not video,
            max_num_faces=max_faces,
            refine_landmarks=refine,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=0.5,
        )

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        """rgb: [H, W, 3] uint8 -> the faces found, largest first (empty list when none)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise Head360Error(f"landmark detection needs an RGB image [H, W, 3], got shape {rgb.shape}")
        h, w = rgb.shape[:2]
        result = self._mesh.process(rgb)
        faces = []
        for lms in result.multi_face_landmarks or []:
            p = np.array([(q.x * w, q.y * h, q.z * w) for q in lms.landmark], dtype=np.float32)
            faces.append(FaceLandmarks(p, (w, h)))
        faces.sort(key=lambda f: -f.area)
        return faces

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> LandmarkDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def detect_face(rgb: np.ndarray, name: str = "the photo", detector: LandmarkDetector | None = None) -> FaceDetection:
    """The largest face of a photo, checked for what a fit needs.

    Raises Head360Error when there is no human face, the face is too small, cut off by the border or
    seen in profile; several faces, a small face or a turned head give warnings instead.
    """
    own = detector is None
    detector = detector or LandmarkDetector(video=False)
    try:
        faces = detector.detect(rgb)
    finally:
        if own:
            detector.close()
    if not faces:
        raise Head360Error(
            f"no human face found in {name}; use a photo where one person looks at the camera, face clearly visible"
        )
    face = faces[0]
    warnings = []
    if len(faces) > 1:
        warnings.append(f"{len(faces)} faces found in {name}; fitting the largest one")
    height = face.face_height
    if height < MIN_FACE_PIXELS:
        raise Head360Error(
            f"the face in {name} is only {height:.0f} pixels tall; use a photo where the face is at least "
            f"{SMALL_FACE_PIXELS} pixels tall (crop closer or use a larger image)"
        )
    if height < SMALL_FACE_PIXELS:
        warnings.append(f"the face is small ({height:.0f} pixels tall): the fitted head will be blurry")
    outside = face.fraction_outside()
    if outside > 0.08:
        raise Head360Error(
            f"the face in {name} is cut off by the image border ({outside:.0%} of its outline lies outside); "
            "use a photo that shows the whole face with some margin"
        )
    yaw = face.yaw_deg()
    if abs(yaw) > PROFILE_REFUSE_DEG:
        raise Head360Error(
            f"the face in {name} is seen in profile (turned about {abs(yaw):.0f} degrees); "
            "photo fitting needs a near-frontal face: use a photo that looks at the camera"
        )
    if abs(yaw) > PROFILE_WARN_DEG:
        warnings.append(
            f"the head is turned about {abs(yaw):.0f} degrees; the method needs a near-frontal face, "
            "expect a worse fit (a photo looking at the camera works best)"
        )
    return FaceDetection(face, len(faces), warnings)


# --- named regions of the face mesh ---------------------------------------------------------------
_REGIONS = {
    "face_oval": "FACEMESH_FACE_OVAL",
    "lips": "FACEMESH_LIPS",
    "left_eye": "FACEMESH_LEFT_EYE",
    "right_eye": "FACEMESH_RIGHT_EYE",
    "left_eyebrow": "FACEMESH_LEFT_EYEBROW",
    "right_eyebrow": "FACEMESH_RIGHT_EYEBROW",
    "left_iris": "FACEMESH_LEFT_IRIS",
    "right_iris": "FACEMESH_RIGHT_IRIS",
}
# Inner and outer lip loops of FACEMESH_LIPS (mediapipe's own ordering of the lip contour).
LIPS_OUTER: tuple[int, ...] = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)  # fmt: skip
LIPS_INNER: tuple[int, ...] = (
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
)  # fmt: skip


def region_names() -> tuple[str, ...]:
    return (*_REGIONS, "lips_outer", "lips_inner")


def face_region(name: str) -> np.ndarray:
    """Indices of a named face-mesh region as one closed loop, in order around it: "face_oval",
    "left_eye", "right_eye", "left_iris", "right_iris", "lips_outer", "lips_inner" (polygons), or
    "left_eyebrow", "right_eyebrow", "lips" (all indices of the region, in loop order where one exists)."""
    return np.array(_region(name), np.int64)


@cache
def _region(name: str) -> tuple[int, ...]:
    if name == "lips_outer":
        return LIPS_OUTER
    if name == "lips_inner":
        return LIPS_INNER
    if name not in _REGIONS:
        raise Head360Error(f"unknown face region '{name}'; choose one of {', '.join(region_names())}")
    from mediapipe.python.solutions import face_mesh_connections as fmc

    return tuple(_order_loop(list(getattr(fmc, _REGIONS[name]))))


def _order_loop(edges: list[tuple[int, int]]) -> list[int]:
    """Walk an edge set as one loop (or, if it is not a single loop, list its vertices in first-seen order)."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    if not adj:
        return []
    if any(len(v) != 2 for v in adj.values()):
        seen: list[int] = []
        for a, b in edges:
            for x in (a, b):
                if x not in seen:
                    seen.append(x)
        return seen
    start = min(adj)
    loop, prev, cur = [start], None, start
    while True:
        nxt = adj[cur][0] if adj[cur][0] != prev else adj[cur][1]
        if nxt == start:
            break
        loop.append(nxt)
        prev, cur = cur, nxt
    if len(loop) != len(adj):  # several loops (the lips: outer and inner): all vertices, loop by loop
        rest = _order_loop([e for e in edges if e[0] not in loop])
        return loop + rest
    return loop
