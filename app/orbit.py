"""The viewport's orbit camera: yaw through the full 360 degrees, clamped pitch, pan and zoom.

The camera itself is the library's (:meth:`head360.cameras.Camera.orbit`, the same one `render --yaw
--pitch` uses); this only holds what the mouse changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from head360.cameras import CAMERA_RADIUS, HEAD_BOX_HALF, Camera

PITCH_LIMIT = 85.0
"""Degrees above / below the horizon the drag may reach (the poles would flip the view)."""

MIN_RADIUS = HEAD_BOX_HALF * 3**0.5 + 0.8
"""Closest zoom: the camera stays outside the head box."""

MAX_RADIUS = 4.0 * CAMERA_RADIUS

PRESET_VIEWS: dict[str, tuple[float, float]] = {
    "front": (0.0, 0.0),
    "left": (90.0, 0.0),  # the subject's left side
    "back": (180.0, 0.0),
    "right": (270.0, 0.0),
    "top": (0.0, PITCH_LIMIT),
}


@dataclass
class OrbitView:
    """yaw (degrees, wrapped to [0, 360)), pitch (degrees, clamped), radius (world units), target [3]."""

    yaw: float = 0.0
    pitch: float = 0.0
    radius: float = CAMERA_RADIUS
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    degrees_per_pixel: float = 0.4

    def camera(self) -> Camera:
        return Camera.orbit(self.yaw, self.pitch, self.radius, target=self.target)

    def orbit(self, dx_pixels: float, dy_pixels: float) -> None:
        """Left drag, as if grabbing the head: dragging right turns its surface to the right (the camera
        moves round to the head's right side), dragging down tilts its top towards the viewer."""
        self.yaw = (self.yaw - dx_pixels * self.degrees_per_pixel) % 360.0
        self.pitch = max(-PITCH_LIMIT, min(PITCH_LIMIT, self.pitch + dy_pixels * self.degrees_per_pixel))

    def pan(self, dx_pixels: float, dy_pixels: float, view_pixels: float) -> None:
        """Right/middle drag: move the looked-at point so the head follows the mouse."""
        cam = self.camera()
        right, down = cam.cam2world[:3, 0], cam.cam2world[:3, 1]
        # world units per pixel at the target's distance (normalised focal: width = radius / focal)
        scale = self.radius / (cam.focal * max(view_pixels, 1.0))
        t = np.asarray(self.target, np.float64) - scale * (dx_pixels * right + dy_pixels * down)
        t = np.clip(t, -HEAD_BOX_HALF, HEAD_BOX_HALF)
        self.target = (float(t[0]), float(t[1]), float(t[2]))

    def zoom(self, wheel_steps: float) -> None:
        """Wheel: each step towards the head is 10% closer."""
        self.radius = max(MIN_RADIUS, min(MAX_RADIUS, self.radius * math.pow(0.9, wheel_steps)))

    def reset(self) -> None:
        self.yaw, self.pitch, self.radius, self.target = 0.0, 0.0, CAMERA_RADIUS, (0.0, 0.0, 0.0)

    def preset(self, name: str) -> None:
        self.yaw, self.pitch = PRESET_VIEWS[name]
        self.target = (0.0, 0.0, 0.0)

    def spin(self, degrees: float) -> None:
        self.yaw = (self.yaw + degrees) % 360.0

    def key(self) -> tuple:
        return (round(self.yaw, 4), round(self.pitch, 4), round(self.radius, 4), self.target)
