"""Single images of a head in each render mode (rgb, raw, depth, alpha) as uint8 arrays."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from head360.cameras import Camera
from head360.errors import Head360Error

MODES = ("rgb", "raw", "depth", "alpha")


def visualise(out: dict[str, torch.Tensor], mode: str, resolution: int | None = None, index: int = 0) -> np.ndarray:
    """One item of a render dict as uint8: rgb/raw -> [H, W, 3]; depth/alpha -> [H, W].

    raw, depth and alpha are the neural-resolution images, enlarged with nearest-neighbour (so their
    pixels stay visible) to ``resolution``. Depth: near = bright, far = dark, nothing = black.
    """
    from head360.model.generator import to_uint8

    if mode not in MODES:
        raise Head360Error(f"unknown render mode '{mode}'; choose one of {', '.join(MODES)}")
    if mode == "rgb":
        img = out["rgb"][index : index + 1]
        if resolution is not None and img.shape[-1] != resolution:
            aa = resolution < img.shape[-1]
            img = F.interpolate(img, size=(resolution, resolution), mode="bilinear", antialias=aa, align_corners=False)
        return to_uint8(img[0])
    if mode == "raw":
        img = out["raw"][index : index + 1]
    elif mode == "alpha":
        img = out["alpha"][index : index + 1]
    else:
        depth, alpha = out["depth"][index : index + 1], out["alpha"][index : index + 1]
        fg = alpha > 0.5
        if fg.any():
            near, far = depth[fg].min(), depth[fg].max()
            img = torch.where(fg, 1.0 - 0.85 * (depth - near) / (far - near).clamp(min=1e-6), torch.zeros_like(depth))
        else:
            img = torch.zeros_like(depth)
    size = resolution or out["rgb"].shape[-1]
    img = F.interpolate(img, size=(size, size), mode="nearest")
    return to_uint8(img[0])


@torch.no_grad()
def render_image(
    generator,
    subject,
    blend_weights: np.ndarray,
    hairstyle: str | None,
    yaw: float = 0.0,
    pitch: float = 0.0,
    mode: str = "rgb",
    resolution: int | None = None,
    hair: bool = True,
    quality: str = "full",
) -> np.ndarray:
    """Render a subject (:class:`head360.model.checkpoint.Subject`) from an orbit camera -> uint8 image."""
    from head360.model.checkpoint import subject_planes

    planes = subject_planes(generator, subject, blend_weights, hairstyle if hair else None)
    label = torch.tensor([Camera.orbit(yaw, pitch).label()], dtype=torch.float32, device=generator.device)
    out = generator.render(planes, label, quality=quality, hair=hair)
    return visualise(out, mode, resolution)
