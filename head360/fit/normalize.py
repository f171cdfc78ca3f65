"""Normalisation: warp the photo into the model's standard crop and camera, using the fitted pose.

The generator renders heads from orbit cameras that look at the origin from ``CAMERA_RADIUS`` with
focal ``FOCAL`` (``head360.cameras``). The normalised photo is what such a camera would see from the
direction the photo was taken: the camera is ``Camera.orbit(yaw, pitch)`` of the fitted viewpoint, and
a similarity transform (scale, in-plane rotation, shift: the photo is cropped, never stretched) maps
the photo onto it. The transform is the least-squares fit between the fitted landmarks projected by the
photo camera and by the model camera, so it also removes the head's roll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from head360.cameras import Camera
from head360.errors import Head360Error


@dataclass
class NormalizedPhoto:
    """The photo in the model's frame.

    image:      [R, R, 3] uint8 (white outside the photo)
    valid:      [R, R] bool, pixels that came from inside the photo
    alpha:      [R, R] uint8 or None, the photo's own transparency, warped
    matrix:     [2, 3] photo pixels -> normalised pixels (a similarity)
    camera:     the model camera this image corresponds to (EG3D label: ``camera.label()``)
    landmarks:  [478, 2] mediapipe points in normalised pixels
    scale:      normalised pixels per photo pixel (> 1: the photo was enlarged)
    """

    image: np.ndarray
    valid: np.ndarray
    alpha: np.ndarray | None
    matrix: np.ndarray
    camera: Camera
    landmarks: np.ndarray
    scale: float

    @property
    def resolution(self) -> int:
        return int(self.image.shape[0])


def similarity_2d(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection): src [N, 2] -> dst [N, 2]; returns [2, 3]."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = (s**2).sum() / len(src)
    if var < 1e-12:
        raise Head360Error("cannot align the photo: the landmarks collapse to one point")
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[1, 1] = -1.0
    rot = u @ fix @ vt
    scale = float(np.trace(np.diag(sig) @ fix) / var)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def normalize_photo(
    rgb: np.ndarray,
    landmarks_xy: np.ndarray,
    fit,
    points3d: np.ndarray,
    resolution: int,
    alpha: np.ndarray | None = None,
) -> NormalizedPhoto:
    """Warp a photo into the model's crop.

    rgb [H, W, 3] uint8; landmarks_xy [478, 2] the photo's mediapipe points; fit: the
    :class:`head360.fit.meshfit.MeshFit` of this photo; points3d [N, 3] head-frame points of the fitted
    mesh used for the alignment (e.g. its landmark points); resolution: side of the output.
    """
    import cv2

    camera = fit.orbit_camera()
    src = fit.project(points3d)
    dst = camera.project(points3d, resolution)
    m = similarity_2d(src, dst)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    img = np.ascontiguousarray(rgb)
    a = None if alpha is None else np.ascontiguousarray(alpha)
    h, w = img.shape[:2]
    valid_src = np.full((h, w), 255, np.uint8)
    pre = 1.0
    if scale < 0.5:  # shrink first with area averaging so the warp does not alias
        pre = scale * 1.5
        size = (max(1, round(w * pre)), max(1, round(h * pre)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        valid_src = cv2.resize(valid_src, size, interpolation=cv2.INTER_NEAREST)
        if a is not None:
            a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
    m_pre = m.copy()
    m_pre[:, :2] /= pre
    # OpenCV puts pixel centres at integers, this project at i + 0.5: shift in and out
    m_pre[:, 2] += m_pre[:, :2] @ np.array([0.5, 0.5]) - 0.5
    size = (resolution, resolution)
    flags = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_LINEAR
    out = cv2.warpAffine(img, m_pre, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    valid = cv2.warpAffine(valid_src, m_pre, size, flags=cv2.INTER_NEAREST, borderValue=0) > 127
    a_out = None
    if a is not None:
        a_out = cv2.warpAffine(a, m_pre, size, flags=cv2.INTER_LINEAR, borderValue=0)
    lm = np.asarray(landmarks_xy, np.float64)
    lm_n = lm @ m[:, :2].T + m[:, 2]
    return NormalizedPhoto(out, valid, a_out, m, camera, lm_n.astype(np.float32), scale)
