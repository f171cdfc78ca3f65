"""The performance solve of video capture (:mod:`head360.anim.capture`): one joint fit over a whole clip
of mediapipe landmarks -> one shape code, per-frame ARKit weights and head pose
(:func:`track_performance`; :func:`solve_clip` splits long clips into windows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from head360.arkit import NUM_BLENDSHAPES, index_of
from head360.errors import Head360Error
from head360.fit.meshfit import UNSEEN_BY_LANDMARKS
from head360.threads import single_torch_thread

if TYPE_CHECKING:
    from head360.anim.capture import CaptureConfig


_R0 = np.diag([1.0, -1.0, -1.0])
"""OpenCV camera looking at the face (+z of the head towards the camera, image y down): a fit's
``rotation`` is ``_R0 @ R_head`` for a head turned by ``R_head``, so ``R_head = _R0 @ rotation``."""


def _rotation_matrices(rvec):
    """Axis-angle [N, 3] (torch) -> rotation matrices [N, 3, 3] (Rodrigues, smooth at 0)."""
    import torch

    theta2 = (rvec * rvec).sum(-1, keepdim=True)[..., None]  # [N, 1, 1]
    theta = torch.sqrt(theta2 + 1e-12)
    zero = torch.zeros_like(rvec[:, 0])
    x, y, z = rvec[:, 0], rvec[:, 1], rvec[:, 2]
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).view(-1, 3, 3)
    small = theta2 < 1e-8
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta2.clamp_min(1e-12))
    eye = torch.eye(3, dtype=rvec.dtype).expand_as(k)
    return eye + a * k + b * (k @ k)


@dataclass
class PerformanceSolution:
    """Result of :func:`track_performance` for F frames: weights [F, 52] in [0, 1], rotation [F, 3]
    head yaw / pitch / roll in degrees, translation [F, 3] (OpenCV camera frame, world units),
    shape_code [50], focal_px, errors_px [F] RMS landmark reprojection error per frame."""

    weights: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    shape_code: np.ndarray
    focal_px: float
    errors_px: np.ndarray
    offsets: np.ndarray | None = None
    """[L, 3] the per-landmark offsets (world units) of the table rows in use."""


def solve_clip(mesh, table, points, size, cfg: CaptureConfig, progress=None) -> PerformanceSolution:
    """:func:`track_performance` on the whole clip, or for clips longer than ``cfg.chunk_frames``:
    identity, focal and landmark offsets from frames spread over the clip first (no temporal prior:
    they are not neighbours), then overlapping chunks of consecutive frames with those held fixed,
    cross-faded where they overlap."""
    from dataclasses import replace

    f = len(points)
    size_chunk = max(cfg.chunk_frames, 2 * cfg.chunk_overlap + 2)
    if f <= size_chunk:
        return track_performance(mesh, table, points, size, cfg, progress)
    spread = np.unique(np.linspace(0, f - 1, size_chunk).round().astype(int))
    first = track_performance(
        mesh, table, [points[i] for i in spread], size, replace(cfg, temporal_prior=0.0, pose_temporal_prior=0.0)
    )
    fixed = replace(cfg, shape_code=first.shape_code, focal_px=first.focal_px)
    weights = np.zeros((f, NUM_BLENDSHAPES))
    rotation = np.zeros((f, 3))
    translation = np.zeros((f, 3))
    errors = np.zeros(f)
    total = np.zeros(f)
    step = size_chunk - cfg.chunk_overlap
    starts = list(range(0, max(f - cfg.chunk_overlap, 1), step))
    for n, a in enumerate(starts):
        b = min(a + size_chunk, f)
        sol = track_performance(mesh, table, points[a:b], size, fixed, None, first.offsets)
        ramp = np.ones(b - a)
        if a > 0:  # fade in over the overlap with the previous chunk
            k = min(cfg.chunk_overlap, b - a)
            ramp[:k] = (np.arange(k) + 0.5) / k
        if b < f:
            k = min(cfg.chunk_overlap, b - a)
            ramp[-k:] = np.minimum(ramp[-k:], (np.arange(k)[::-1] + 0.5) / k)
        rot = sol.rotation
        if a > 0:  # keep the angles continuous with what is already there before blending
            ref = rotation[a] / max(total[a], 1e-12)
            rot = rot + 360.0 * np.round((ref - rot[0]) / 360.0)
        weights[a:b] += ramp[:, None] * sol.weights
        rotation[a:b] += ramp[:, None] * rot
        translation[a:b] += ramp[:, None] * sol.translation
        errors[a:b] += ramp * sol.errors_px
        total[a:b] += ramp
        if progress is not None:
            progress("fit", n + 1, len(starts))
    total = total[:, None]
    return PerformanceSolution(
        weights / total, rotation / total, translation / total, first.shape_code, first.focal_px,
        errors / total[:, 0], first.offsets,
    )  # fmt: skip


def track_performance(
    mesh,
    table,
    points: list[np.ndarray],
    size: tuple[int, int],
    config: CaptureConfig,
    progress: Callable[[str, int, int | None], None] | None = None,
    offsets: np.ndarray | None = None,
) -> PerformanceSolution:
    """Identity, blendshape weights and head pose of a whole clip in one solve.

    mesh: MeshModel ``V(s, b)``; table: :class:`head360.fit.meshfit.LandmarkTable` (mesh points <->
    mediapipe indices); points: per frame [478, 2] pixel landmarks (frames with a face only); size (W, H).

    Unknowns: one shape code shared by all frames (unless ``config.shape_code`` fixes it), per frame 52
    weights in [0, 1] and a rigid pose; the camera is a pinhole at the image centre with a fixed focal
    length. Minimises over all frames together (Adam; weights projected to [0, 1]): the landmark
    reprojection error (divided by ``landmark_sigma`` x face size) + ``shape_prior * |s|^2`` + per
    frame ``weight_l1 * sum(b) + weight_l2 * sum(b^2)`` + temporal priors on the frame-to-frame change
    of weights and pose. Each frame's pose starts from OpenCV's PnP of the mean head. ``offsets``
    [L, 3] (the table's rows in use): fixed per-landmark offsets from an earlier solve (then not
    optimised), see ``CaptureConfig.offset_sigma``.
    """
    import cv2
    import torch

    from head360.cameras import CAMERA_RADIUS, head_rotation_angles

    cfg = config
    f = len(points)
    w, h = size
    principal = np.array([w / 2.0, h / 2.0])
    idx = np.asarray(table.mediapipe_index)
    use = idx < min(len(p) for p in points)
    if cfg.ignore_regions:
        from head360.fit.landmarks import face_region

        ignored = np.concatenate([face_region(name) for name in cfg.ignore_regions])
        use &= ~np.isin(idx, ignored)
    if use.sum() < 6:
        raise Head360Error(f"only {int(use.sum())} landmarks of the table were found; tracking needs at least 6")
    idx = idx[use]
    verts, bary = np.asarray(table.vertices)[use], np.asarray(table.weights, np.float64)[use]
    if int(verts.max()) >= mesh.num_vertices:
        raise Head360Error(f"the landmark table refers to vertex {int(verts.max())}; the mesh has {mesh.num_vertices}")

    def rows(a: np.ndarray) -> np.ndarray:  # [..., V, 3] -> [..., L, 3] (only the rows, then float64)
        return np.einsum("lk,...lkc->...lc", bary, np.asarray(a)[..., verts, :].astype(np.float64))

    nl = len(idx)
    k = mesh.interaction_rank
    mean_l = rows(mesh.mean)  # [L, 3]
    shape_l = rows(mesh.shape_basis).reshape(mesh.shape_dim, -1)  # [S, L*3]
    expr_l = rows(mesh.expr_basis).reshape(NUM_BLENDSHAPES, -1)  # [52, L*3]
    inter_l = rows(mesh.expr_shape_basis).reshape(NUM_BLENDSHAPES, k, -1) if k else None  # [52, K, L*3]
    target = np.stack([np.asarray(p, np.float64)[idx, :2] for p in points])  # [F, L, 2]
    conf = np.asarray(table.confidence, np.float64)[use]

    # focal: the one that puts the mean face at the rig's distance (unless given)
    spread_px = np.sqrt(((target - target.mean(1, keepdims=True)) ** 2).sum(-1).mean(-1))  # [F]
    spread_world = float(np.sqrt(((mean_l[:, :2] - mean_l[:, :2].mean(0)) ** 2).sum(-1).mean()))
    focal = float(cfg.focal_px) if cfg.focal_px else CAMERA_RADIUS * float(np.median(spread_px)) / spread_world

    # per-frame rigid start: PnP of the mean head (seeded facing the camera, then frame to frame)
    kmat = np.array([[focal, 0, principal[0]], [0, focal, principal[1]], [0, 0, 1]], np.float64)
    start = (
        mean_l if cfg.shape_code is None else mean_l + (np.asarray(cfg.shape_code, np.float64) @ shape_l).reshape(nl, 3)
    )
    rv, _ = cv2.Rodrigues(_R0)
    off = (target[0].mean(0) - principal) / focal * CAMERA_RADIUS
    tv = (np.array([off[0], off[1], CAMERA_RADIUS]) - _R0 @ start.mean(0)).reshape(3, 1)
    rvecs, tvecs = np.zeros((f, 3)), np.zeros((f, 3))
    for i in range(f):
        ok, r_i, t_i = cv2.solvePnP(start, target[i], kmat, None, rv.copy(), tv.copy(), True, cv2.SOLVEPNP_ITERATIVE)
        if ok and t_i[2, 0] > 0:
            rv, tv = r_i, t_i
        rvecs[i], tvecs[i] = rv.reshape(3), tv.reshape(3)

    dt = torch.float64
    mean_t = torch.as_tensor(mean_l.reshape(-1), dtype=dt)
    shape_t = torch.as_tensor(shape_l, dtype=dt)
    expr_t = torch.as_tensor(expr_l, dtype=dt)
    inter_t = None if inter_l is None else torch.as_tensor(inter_l, dtype=dt)
    target_t = torch.as_tensor(target, dtype=dt)
    conf_t = torch.as_tensor(conf, dtype=dt)[None, :, None]
    principal_t = torch.as_tensor(principal, dtype=dt)
    scale = max(float(np.median(spread_px)) * 2.0 * cfg.landmark_sigma, 1e-6)
    fixed_shape = cfg.shape_code is not None
    s = torch.tensor(
        np.zeros(mesh.shape_dim) if cfg.shape_code is None else np.asarray(cfg.shape_code, np.float64),
        dtype=dt,
        requires_grad=not fixed_shape,
    )
    fit_offsets = offsets is None and cfg.offset_sigma is not None
    offsets = torch.as_tensor(
        np.zeros(nl * 3) if offsets is None else np.asarray(offsets, np.float64).reshape(-1), dtype=dt
    ).requires_grad_(fit_offsets)
    b = torch.zeros(f, NUM_BLENDSHAPES, dtype=dt, requires_grad=True)
    unseen = [index_of(name) for name in UNSEEN_BY_LANDMARKS]
    rvec = torch.tensor(rvecs, dtype=dt, requires_grad=True)
    tvec = torch.tensor(tvecs, dtype=dt, requires_grad=True)
    depth = float(np.median(tvecs[:, 2]))

    def residuals():
        deltas = expr_t if inter_t is None else expr_t + torch.einsum("k,jkn->jn", s[:k], inter_t)
        pts = (mean_t + offsets + s @ shape_t)[None] + b @ deltas  # [F, L*3]
        cam = pts.view(f, nl, 3) @ _rotation_matrices(rvec).transpose(1, 2) + tvec[:, None, :]
        uv = focal * cam[..., :2] / cam[..., 2:3].clamp_min(1e-3) + principal_t
        return uv - target_t

    groups = [{"params": [b], "lr": 0.03}, {"params": [rvec], "lr": 0.003}, {"params": [tvec], "lr": 0.003 * depth}]
    if not fixed_shape:
        groups.append({"params": [s], "lr": 0.03})
    if fit_offsets:
        groups.append({"params": [offsets], "lr": 0.003})
    opt = torch.optim.Adam(groups)
    # thousands of tiny tensor ops: one intra-op thread is several times faster than two (and far faster
    # on a busy machine); only this thread's count changes, so the studio's viewport keeps its threads
    with single_torch_thread():
        for step in range(cfg.steps):
            opt.zero_grad()
            r = residuals()
            loss = (conf_t * (r / scale) ** 2).sum()
            loss = loss + cfg.weight_l1 * b.sum() + cfg.weight_l2 * (b * b).sum()
            if not fixed_shape:
                loss = loss + cfg.shape_prior * (s * s).sum()
            if fit_offsets:
                loss = loss + ((offsets / cfg.offset_sigma) ** 2).sum()
            if f > 1:
                loss = loss + cfg.temporal_prior * ((b[1:] - b[:-1]) ** 2).sum()
                turn = ((rvec[1:] - rvec[:-1]) / 0.05) ** 2
                move = ((tvec[1:] - tvec[:-1]) / (0.05 * depth)) ** 2
                loss = loss + cfg.pose_temporal_prior * (turn.sum() + move.sum())
            loss.backward()
            opt.step()
            with torch.no_grad():
                b.clamp_(0.0, 1.0)
                b[:, unseen] = 0.0  # no landmark sees them: they would only soak up lip residuals
            if progress is not None and (step % 10 == 9 or step == cfg.steps - 1):
                progress("fit", step + 1, cfg.steps)
    with torch.no_grad():
        err = torch.sqrt((residuals() ** 2).sum(-1).mean(-1)).numpy()
        rots = _rotation_matrices(rvec).numpy()
    angles = np.array([head_rotation_angles(_R0 @ r) for r in rots])
    return PerformanceSolution(
        weights=b.detach().numpy().copy(),
        rotation=angles,
        translation=tvec.detach().numpy().copy(),
        shape_code=s.detach().numpy().astype(np.float32),
        focal_px=focal,
        errors_px=err,
        offsets=offsets.detach().numpy().reshape(nl, 3).copy(),
    )
