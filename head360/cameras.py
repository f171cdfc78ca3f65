"""Cameras: orbit / look-at cameras, the 72-view rig, and EG3D-style 25-float labels.

Conventions
-----------
* World: +y up, the face looks along +z, +x is the subject's left; 1 unit = 10 cm.
* ``cam2world`` is a 4x4 OpenCV camera-to-world matrix: camera x right, y down, z forward.
* Intrinsics are normalised by the image size (EG3D): ``[[f, 0, cx], [0, f, cy], [0, 0, 1]]`` with
  ``cx = cy = 0.5``. A point projects to continuous pixel coordinates ``(u, v) = K_norm @ p * size``;
  the image spans ``[0, W] x [0, H]`` and pixel ``i`` has its centre at ``i + 0.5``.
* Orbit angles: ``yaw`` 0 looks at the face from the front, 90 at the subject's left side, 180 at the
  back; ``pitch`` positive puts the camera above the head, looking down.
* A label is 25 floats: the 16 entries of ``cam2world`` (row-major), then the 9 of the normalised
  intrinsics (row-major), exactly as EG3D's ``dataset.json`` stores them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from head360.errors import Head360Error

METRES_PER_UNIT = 0.1
"""World units are 10 cm."""

HEAD_BOX_HALF = 1.6
"""Half the edge of the cube (world units) that holds the whole head, hair and neck stub."""

CAMERA_RADIUS = 7.0
"""Distance of the rig cameras from the origin (70 cm)."""

FOCAL = 2.1
"""Normalised focal length of the rig cameras (focal length in pixels / image size): about 27 deg FOV."""

RIG_PITCHES_DEG: tuple[float, ...] = (-20.0, 0.0, 20.0)
RIG_YAWS_DEG: tuple[float, ...] = tuple(15.0 * i for i in range(24))
NUM_VIEWS = len(RIG_PITCHES_DEG) * len(RIG_YAWS_DEG)  # 72
MAX_PITCH_DEG = 89.0
"""Orbit cameras stay this far from straight above or below the head (the view's up vector stays defined)."""


def check_orbit_angles(yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> None:
    """Refuse (Head360Error) an orbit angle that is not a finite number, or a pitch past +-MAX_PITCH_DEG."""
    for name, value in (("--yaw", yaw_deg), ("--pitch", pitch_deg)):
        if not math.isfinite(value):
            raise Head360Error(f"{name} must be a finite number of degrees, got {value}")
    if abs(pitch_deg) > MAX_PITCH_DEG:
        raise Head360Error(
            f"--pitch must be between -{MAX_PITCH_DEG:g} and {MAX_PITCH_DEG:g} degrees, got {pitch_deg:g}"
        )


@dataclass(frozen=True)
class Camera:
    """A pinhole camera. ``cam2world``: [4, 4] OpenCV; ``focal``, ``cx``, ``cy``: normalised."""

    cam2world: np.ndarray
    focal: float = FOCAL
    cx: float = 0.5
    cy: float = 0.5

    # --- construction -------------------------------------------------------------------------
    @staticmethod
    def look_at(eye, target=(0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0), focal: float = FOCAL) -> Camera:
        eye = np.asarray(eye, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
        forward = target - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, np.asarray(up, dtype=np.float64))
        if np.linalg.norm(right) < 1e-8:  # looking straight up or down: any right vector will do
            right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, down, forward, eye
        return Camera(m, focal)

    @staticmethod
    def orbit(
        yaw_deg: float,
        pitch_deg: float = 0.0,
        radius: float = CAMERA_RADIUS,
        target=(0.0, 0.0, 0.0),
        focal: float = FOCAL,
    ) -> Camera:
        """A camera on a sphere around ``target`` looking at it (pitch clamped to +-MAX_PITCH_DEG; angles
        that are not finite numbers raise Head360Error)."""
        if not (math.isfinite(yaw_deg) and math.isfinite(pitch_deg)):
            raise Head360Error(f"camera angles must be finite numbers of degrees, got yaw {yaw_deg}, pitch {pitch_deg}")
        yaw = math.radians(yaw_deg)
        pitch = math.radians(max(-MAX_PITCH_DEG, min(MAX_PITCH_DEG, pitch_deg)))
        offset = radius * np.array([math.cos(pitch) * math.sin(yaw), math.sin(pitch), math.cos(pitch) * math.cos(yaw)])
        target = np.asarray(target, dtype=np.float64)
        return Camera.look_at(target + offset, target, focal=focal)

    @staticmethod
    def from_label(label) -> Camera:
        """Inverse of :meth:`label` (25 floats)."""
        label = np.asarray(label, dtype=np.float64).reshape(-1)
        if label.shape[0] != 25:
            raise ValueError(f"a camera label has 25 floats, got {label.shape[0]}")
        k = label[16:].reshape(3, 3)
        return Camera(label[:16].reshape(4, 4).copy(), float(k[0, 0]), float(k[0, 2]), float(k[1, 2]))

    # --- properties ---------------------------------------------------------------------------
    @property
    def position(self) -> np.ndarray:
        return self.cam2world[:3, 3].copy()

    @property
    def intrinsics(self) -> np.ndarray:
        """Normalised 3x3 intrinsics."""
        return np.array([[self.focal, 0.0, self.cx], [0.0, self.focal, self.cy], [0.0, 0.0, 1.0]])

    @property
    def world2cam(self) -> np.ndarray:
        return np.linalg.inv(self.cam2world)

    def label(self) -> list[float]:
        """EG3D camera label: 16 floats of cam2world then 9 of the normalised intrinsics."""
        return [float(x) for x in self.cam2world.reshape(-1)] + [float(x) for x in self.intrinsics.reshape(-1)]

    # --- projection ---------------------------------------------------------------------------
    def project(self, points: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
        """World points ``[N, 3]`` -> continuous pixel coordinates ``[N, 2]`` (x right, y down)."""
        height = width if height is None else height
        p = np.asarray(points, dtype=np.float64) @ self.world2cam[:3, :3].T + self.world2cam[:3, 3]
        z = p[:, 2:3]
        uv = p[:, :2] / z
        u = (self.focal * uv[:, 0] + self.cx) * width
        v = (self.focal * uv[:, 1] + self.cy) * height
        return np.stack([u, v], axis=1)

    def depth_of(self, points: np.ndarray) -> np.ndarray:
        """Camera-space z (distance along the view axis) of world points ``[N, 3]`` -> ``[N]``."""
        p = np.asarray(points, dtype=np.float64) @ self.world2cam[:3, :3].T + self.world2cam[:3, 3]
        return p[:, 2]

    # --- OpenGL -------------------------------------------------------------------------------
    def gl_view(self) -> np.ndarray:
        """4x4 OpenGL view matrix (camera looks down -z, y up)."""
        flip = np.diag([1.0, -1.0, -1.0, 1.0])
        return flip @ self.world2cam

    def gl_projection(self, near: float, far: float) -> np.ndarray:
        """4x4 OpenGL projection whose NDC matches :meth:`project` (pixel centres at i + 0.5)."""
        f, cx, cy = self.focal, self.cx, self.cy
        m = np.zeros((4, 4))
        m[0, 0] = 2.0 * f
        m[0, 2] = 1.0 - 2.0 * cx
        m[1, 1] = 2.0 * f
        m[1, 2] = 2.0 * cy - 1.0
        m[2, 2] = -(far + near) / (far - near)
        m[2, 3] = -2.0 * far * near / (far - near)
        m[3, 2] = -1.0
        return m


# --- head poses (animation, capture) --------------------------------------------------------------
def head_rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """``Ry(yaw) @ Rx(pitch) @ Rz(roll)`` [3, 3] (right-handed, degrees, head frame: +y up, face +z)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("YXZ", [yaw_deg, pitch_deg, roll_deg], degrees=True).as_matrix()


def head_rotation_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`head_rotation_matrix`: [3, 3] -> (yaw, pitch, roll) in degrees."""
    from scipy.spatial.transform import Rotation

    y, p, r = Rotation.from_matrix(np.asarray(rotation, np.float64)).as_euler("YXZ", degrees=True)
    return float(y), float(p), float(r)


def camera_with_head_pose(camera: Camera, head_rotation_deg) -> Camera:
    """The camera that sees the canonical head as ``camera`` sees the head rotated by
    ``head_rotation_deg`` (yaw, pitch, roll) about its origin."""
    r = head_rotation_matrix(*head_rotation_deg)
    m = np.eye(4)
    m[:3, :3] = r.T
    return Camera(m @ camera.cam2world, camera.focal, camera.cx, camera.cy)


def orbit_camera(camera: Camera, yaw_deg: float) -> Camera:
    """``camera`` carried around the head's vertical axis by ``yaw_deg`` (the orbit convention:
    positive towards the subject's left side)."""
    a = math.radians(yaw_deg)
    r = np.array([[math.cos(a), 0.0, math.sin(a)], [0.0, 1.0, 0.0], [-math.sin(a), 0.0, math.cos(a)]])
    m = np.eye(4)
    m[:3, :3] = r
    return Camera(m @ camera.cam2world, camera.focal, camera.cx, camera.cy)


def rig_views() -> list[tuple[int, float, float]]:
    """The 72 dataset views as ``(view_index, yaw_deg, pitch_deg)``; index = pitch_i * 24 + yaw_i."""
    out = []
    for pi, pitch in enumerate(RIG_PITCHES_DEG):
        for yi, yaw in enumerate(RIG_YAWS_DEG):
            out.append((pi * len(RIG_YAWS_DEG) + yi, yaw, pitch))
    return out


def rig_camera(view: int) -> Camera:
    """Camera of dataset view ``view`` (0..71)."""
    if not 0 <= view < NUM_VIEWS:
        raise ValueError(f"view index must be in 0..{NUM_VIEWS - 1}, got {view}")
    _, yaw, pitch = rig_views()[view]
    return Camera.orbit(yaw, pitch)


def yaw_group(yaw_deg: float) -> str:
    """'front' (within 45 deg of the face), 'back' (within 45 deg of the back) or 'side'."""
    y = (yaw_deg + 180.0) % 360.0 - 180.0
    if abs(y) <= 45.0:
        return "front"
    if abs(y) >= 135.0:
        return "back"
    return "side"


def rays_from_labels(labels, resolution: int):
    """Ray origins and unit directions for a batch of labels (torch).

    labels: [B, 25] -> (origins [B, R*R, 3], directions [B, R*R, 3]); pixel centres at i + 0.5,
    row-major (y then x), matching :meth:`Camera.project`.
    """
    import torch

    labels = torch.as_tensor(labels, dtype=torch.float32)
    cam2world = labels[:, :16].reshape(-1, 4, 4)
    k = labels[:, 16:].reshape(-1, 3, 3)
    fx, fy, cx, cy = k[:, 0, 0], k[:, 1, 1], k[:, 0, 2], k[:, 1, 2]
    dev = labels.device
    t = (torch.arange(resolution, device=dev, dtype=torch.float32) + 0.5) / resolution
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    x = (xx.reshape(1, -1) - cx[:, None]) / fx[:, None]
    y = (yy.reshape(1, -1) - cy[:, None]) / fy[:, None]
    d_cam = torch.stack([x, y, torch.ones_like(x)], dim=-1)  # [B, N, 3]
    d_world = d_cam @ cam2world[:, :3, :3].transpose(1, 2)
    d_world = d_world / d_world.norm(dim=-1, keepdim=True)
    origins = cam2world[:, None, :3, 3].expand_as(d_world)
    return origins, d_world
