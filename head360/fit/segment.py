"""Face / hair / background segmentation of a (normalised) photo.

No network of our own: mediapipe's selfie segmentation gives the person; the face mesh gives the face
outline, the eyes and the mouth; colour models separate the rest:

* skin  -- the face inside mediapipe's face outline, plus person pixels outside it whose colour matches
  the face's skin (forehead up to the hairline, ears);
* hair  -- person pixels above the chin that are not skin, plus pixels below the chin with the hair's
  colour that connect to them (long hair over the shoulders);
* neck  -- everything else of the person below the chin (neck, shoulders, clothes: ``Label.NECK``);
* eyes / mouth interior -- mediapipe's eye and inner-lip outlines.

Labels are ``head360.labels.Label``, as in the data factory's label maps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from head360.labels import Label


@dataclass
class Segmentation:
    """labels [H, W] uint8 Label; person [H, W] float32 in 0..1; skin_rgb: mean face colour (0..255)."""

    labels: np.ndarray
    person: np.ndarray
    skin_rgb: np.ndarray

    def mask(self, *labels: Label) -> np.ndarray:
        return np.isin(self.labels, [int(x) for x in labels])

    @property
    def face(self) -> np.ndarray:
        """The face (skin, eyes, mouth) as a bool mask."""
        return self.mask(Label.SKIN, Label.EYES, Label.MOUTH_INTERIOR)

    @property
    def hair(self) -> np.ndarray:
        return self.mask(Label.HAIR)


def person_probability(rgb: np.ndarray) -> np.ndarray:
    """mediapipe selfie segmentation: [H, W, 3] uint8 -> [H, W] float32 probability of the person."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    from mediapipe.python.solutions import selfie_segmentation

    with selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        mask = seg.process(np.ascontiguousarray(rgb)).segmentation_mask
    return np.asarray(mask, np.float32)


def _polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(points - 0.5).astype(np.int32)], 1)
    return m.astype(bool)


def _colour_model(pixels: np.ndarray):
    """Mean and inverse covariance of YCrCb pixels [N, 3] (regularised)."""
    mean = pixels.mean(0)
    cov = np.cov(pixels.T) + np.diag([30.0, 4.0, 4.0])
    return mean, np.linalg.inv(cov)


def _mahalanobis(pixels: np.ndarray, model) -> np.ndarray:
    mean, inv = model
    d = pixels - mean
    return np.sqrt(np.einsum("...i,ij,...j->...", d, inv, d))


def segment_photo(
    rgb: np.ndarray,
    landmarks_xy: np.ndarray,
    valid: np.ndarray | None = None,
    alpha: np.ndarray | None = None,
    person: np.ndarray | None = None,
) -> Segmentation:
    """rgb [H, W, 3] uint8, landmarks_xy [478, 2] (pixels of this image); valid [H, W] bool: pixels that
    belong to the photo (outside: background); alpha [H, W] uint8: the photo's own transparency, used as
    the person mask when given; person: a precomputed person probability [H, W]."""
    import cv2

    from head360.fit.landmarks import CHIN, face_region

    h, w = rgb.shape[:2]
    if person is None:
        person = person_probability(rgb) if alpha is None else alpha.astype(np.float32) / 255.0
    fg = person > 0.5
    if valid is not None:
        fg &= valid
    lm = np.asarray(landmarks_xy, np.float64)
    oval = _polygon_mask(lm[face_region("face_oval")], (h, w))
    eyes = _polygon_mask(lm[face_region("left_eye")], (h, w)) | _polygon_mask(lm[face_region("right_eye")], (h, w))
    mouth = _polygon_mask(lm[face_region("lips_inner")], (h, w))
    brows = np.zeros((h, w), bool)
    for name in ("left_eyebrow", "right_eyebrow"):
        pts = lm[face_region(name)]
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        brows |= _polygon_mask(hull[:, 0].astype(np.float64) + 0.5, (h, w))
    lips = _polygon_mask(lm[face_region("lips_outer")], (h, w))
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float64)

    # skin colour from the face without eyes, brows and lips (eroded away from the outline)
    core = cv2.erode(oval.astype(np.uint8), np.ones((5, 5), np.uint8), iterations=max(1, h // 128)).astype(bool)
    core &= ~(eyes | brows | lips)
    core_px = ycc[core] if core.sum() > 50 else ycc[oval]
    skin_model = _colour_model(core_px)
    skin_like = _mahalanobis(ycc, skin_model) < 2.5
    skin_rgb = rgb[core].mean(0) if core.sum() > 50 else rgb[oval].mean(0)

    chin_y = float(lm[CHIN, 1])
    yy = np.arange(h, dtype=np.float64)[:, None] * np.ones((1, w))
    above = yy <= chin_y
    rest = fg & ~oval
    # skin outside mediapipe's outline (forehead up to the hairline, ears) stays near the outline
    face_h = float(np.linalg.norm(lm[CHIN] - lm[10]))
    reach = max(3, int(round(0.3 * face_h)))
    near = cv2.dilate(oval.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    skin_out = rest & skin_like & above & near.astype(bool)
    # only skin that touches the face counts (forehead, ears); skin-coloured blobs elsewhere are hair
    num, comp = cv2.connectedComponents((skin_out | oval).astype(np.uint8))
    touching = np.unique(comp[oval & (comp > 0)])
    skin_out &= np.isin(comp, touching)
    hair_top = rest & above & ~skin_out
    hair_top = cv2.morphologyEx(hair_top.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    hair = hair_top.copy()
    if hair_top.sum() > 30:
        hair_model = _colour_model(ycc[hair_top])
        below = rest & ~above & ~skin_like & (_mahalanobis(ycc, hair_model) < 2.5)
        num, comp = cv2.connectedComponents((hair_top | below).astype(np.uint8))
        linked = np.unique(comp[hair_top & (comp > 0)])
        hair |= below & np.isin(comp, linked)
    # a fringe over the forehead: inside the outline, above the brows, clearly not skin
    brow_top = float(lm[np.concatenate([face_region("left_eyebrow"), face_region("right_eyebrow")]), 1].min())
    fringe = oval & (yy < brow_top) & (_mahalanobis(ycc, skin_model) > 3.5)
    fringe = cv2.morphologyEx(fringe.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    hair |= fringe
    labels = np.full((h, w), int(Label.BACKGROUND), np.uint8)
    labels[fg & ~above] = int(Label.NECK)
    labels[fg & above] = int(Label.NECK)  # shoulders above the chin line (tilted heads), overwritten below
    labels[hair] = int(Label.HAIR)
    labels[((oval & fg) | skin_out) & ~fringe] = int(Label.SKIN)
    labels[oval & ~fg & ~fringe] = int(Label.SKIN)  # the face wins over a doubtful person mask
    labels[eyes] = int(Label.EYES)
    labels[mouth] = int(Label.MOUTH_INTERIOR)
    if valid is not None:
        labels[~valid] = int(Label.BACKGROUND)
    return Segmentation(labels, person.astype(np.float32), skin_rgb.astype(np.float32))


def overlay(rgb: np.ndarray, seg: Segmentation, opacity: float = 0.45) -> np.ndarray:
    """The photo with the label colours blended over it (for the studio and the CLI's images)."""
    from head360.labels import LABEL_COLORS

    colours = np.zeros((256, 3), np.float32)
    for k, c in LABEL_COLORS.items():
        colours[int(k)] = c
    tint = colours[seg.labels]
    mix = rgb.astype(np.float32) * (1 - opacity) + tint * opacity
    mix[seg.labels == int(Label.BACKGROUND)] = rgb[seg.labels == int(Label.BACKGROUND)]
    return mix.round().astype(np.uint8)
