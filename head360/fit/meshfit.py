"""Landmark -> mesh solver: shape code, blendshape weights, head pose and focal length from 2D landmarks.

The model is the bilinear mesh ``V(s, b)`` (``head360.mesh.model.MeshModel``); a
:class:`LandmarkTable` says which point of the mesh each mediapipe landmark is (a template vertex, or a
point inside a triangle given by three vertices and barycentric weights). The solver minimises the 2D
reprojection error of those points under a pinhole camera, with priors:

* shape code ``s ~ N(0, I)`` (the model is whitened),
* blendshape weights ``b`` in [0, 1], small and sparse (L1 + L2),
* camera distance near the rig's (``head360.cameras.CAMERA_RADIUS``): from landmarks alone, distance
  and focal length are nearly interchangeable, so the prior decides between them.

Camera: OpenCV pinhole in pixels of the photo, ``p_cam = R @ v + t``, ``u = f x / z + cx``,
``v = f y / z + cy`` with the principal point at the image centre. The head frame is the project's world
(+y up, face along +z). Only the landmark rows of the model are evaluated, so a fit takes well under a
second on a CPU and tracking a video frame (warm start, fixed shape) a few milliseconds.

Reused by video-driven animation::

    fitter = MeshFitter(mesh, landmark_table(mesh))
    first = fitter.fit(face.xy, face.image_size)                               # shape, weights, pose
    nxt = fitter.fit(face2.xy, size, init=first, shape=first.shape_code, config=TRACKING)
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from head360.arkit import NUM_BLENDSHAPES
from head360.assets import ASSETS_DIR
from head360.cameras import CAMERA_RADIUS, FOCAL, Camera
from head360.errors import Head360Error
from head360.fileio import write_json
from head360.threads import single_torch_thread

TABLE_FORMAT = "head360-landmark-table/1"
CALIBRATED_TABLE_PATH = ASSETS_DIR / "landmark_table.json"
"""The calibrated table written by ``python -m head360.fit.calibrate`` (used when it fits the mesh)."""


# --- the correspondence table ---------------------------------------------------------------------
@dataclass
class LandmarkTable:
    """Which mesh point each mediapipe landmark is.

    mediapipe_index: [L] int   mediapipe face-mesh index (0..477) of each entry
    vertices:        [L, 3] int mesh vertices (all three equal for a plain vertex)
    weights:         [L, 3] float barycentric weights (sum 1)
    names:           L names (semantic name, or "mp<index>")
    confidence:      [L] float in (0, 1]: weight of each entry in the fit (e.g. lower for the jaw contour)
    topology:        hash of the mesh faces the table was made for (:func:`topology_hash`), "" if unknown
    """

    mediapipe_index: np.ndarray
    vertices: np.ndarray
    weights: np.ndarray
    names: list[str]
    confidence: np.ndarray
    topology: str = ""
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.mediapipe_index))

    @staticmethod
    def from_vertices(mediapipe_index, vertices, names=None, confidence=None, topology: str = "") -> LandmarkTable:
        mp = np.asarray(mediapipe_index, np.int64).reshape(-1)
        v = np.asarray(vertices, np.int64).reshape(-1)
        if len(mp) != len(v):
            raise Head360Error(f"landmark table: {len(mp)} mediapipe indices but {len(v)} vertices")
        w = np.zeros((len(v), 3), np.float32)
        w[:, 0] = 1.0
        names = list(names) if names is not None else [f"mp{i}" for i in mp]
        conf = np.ones(len(v), np.float32) if confidence is None else np.asarray(confidence, np.float32)
        return LandmarkTable(mp, np.repeat(v[:, None], 3, 1), w, names, conf, topology)

    def points(self, vertices: np.ndarray) -> np.ndarray:
        """Mesh vertices [V, 3] -> landmark points [L, 3]."""
        v = np.asarray(vertices)
        return np.einsum("lk,lkc->lc", self.weights, v[self.vertices]).astype(np.float32)

    def subset(self, keep: np.ndarray) -> LandmarkTable:
        """The entries selected by ``keep`` (a bool mask [L] or indices)."""
        keep = np.asarray(keep)
        rows = np.flatnonzero(keep) if keep.dtype == bool else keep.astype(np.int64)
        return LandmarkTable(
            self.mediapipe_index[rows],
            self.vertices[rows],
            self.weights[rows],
            [self.names[i] for i in rows],
            self.confidence[rows],
            self.topology,
            dict(self.info),
        )

    # --- io ---------------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "format": TABLE_FORMAT,
            "topology": self.topology,
            "info": self.info,
            "landmarks": [
                {
                    "name": self.names[i],
                    "mediapipe": int(self.mediapipe_index[i]),
                    "vertices": [int(x) for x in self.vertices[i]],
                    "weights": [round(float(x), 6) for x in self.weights[i]],
                    "confidence": round(float(self.confidence[i]), 4),
                }
                for i in range(len(self))
            ],
        }

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_json(), indent=1)

    @staticmethod
    def from_json(data: dict, source: str = "landmark table") -> LandmarkTable:
        if data.get("format") != TABLE_FORMAT:
            raise Head360Error(f"{source} is not a Head360 landmark table (format {data.get('format')!r})")
        rows = data.get("landmarks", [])
        if not rows:
            raise Head360Error(f"{source} has no landmarks")
        try:
            return LandmarkTable(
                np.array([r["mediapipe"] for r in rows], np.int64),
                np.array([r["vertices"] for r in rows], np.int64),
                np.array([r["weights"] for r in rows], np.float32),
                [str(r.get("name", f"mp{r['mediapipe']}")) for r in rows],
                np.array([r.get("confidence", 1.0) for r in rows], np.float32),
                str(data.get("topology", "")),
                dict(data.get("info", {})),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise Head360Error(f"{source} is damaged ({type(e).__name__}: {e}); rerun the calibration") from e

    @staticmethod
    def load(path: str | Path) -> LandmarkTable:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise Head360Error(f"landmark table '{path}' not found") from None
        except (OSError, json.JSONDecodeError) as e:
            raise Head360Error(f"landmark table '{path}' is not readable JSON ({e})") from e
        return LandmarkTable.from_json(data, f"'{path}'")


def topology_hash(faces: np.ndarray) -> str:
    """Short hash of a mesh's faces [F, 3]: tables made for one topology fit every mesh with it."""
    f = np.ascontiguousarray(np.asarray(faces, np.int64))
    return hashlib.sha256(str(f.shape).encode() + f.tobytes()).hexdigest()[:16]


_MP_KEYS = ("mediapipe", "mediapipe_index", "mp", "mp_index", "mediapipe_idx")
_VERTEX_KEYS = ("vertex", "template_vertex", "vertex_index", "index")


def table_from_mesh_info(mesh) -> LandmarkTable:
    """The semantic landmark table the mesh model carries (``landmark_vertices`` + ``info["landmarks"]``)."""
    info = getattr(mesh, "info", {}) or {}
    rows = info.get("landmarks")
    lv = np.asarray(getattr(mesh, "landmark_vertices", np.zeros(0)), np.int64)
    mp, verts, names = [], [], []
    if isinstance(rows, dict):  # {"names": [...], "mediapipe": [...], "vertices": [...]}
        mps = next((rows[k] for k in _MP_KEYS if k in rows), None)
        vs = next((rows[k] for k in ("vertices", *_VERTEX_KEYS) if k in rows), lv)
        if mps is not None:
            mp, verts = list(mps), list(vs)
            names = list(rows.get("names", [f"mp{i}" for i in mp]))
    elif isinstance(rows, list):
        for i, r in enumerate(rows):
            if not isinstance(r, dict):
                continue
            m = next((r[k] for k in _MP_KEYS if k in r), None)
            v = next((r[k] for k in _VERTEX_KEYS if k in r), lv[i] if i < len(lv) else None)
            if m is None or v is None or int(m) < 0:
                continue
            mp.append(int(m))
            verts.append(int(v))
            names.append(str(r.get("name", f"mp{m}")))
    if not mp:
        raise Head360Error(
            "this model's mesh has no landmark table (template vertices <-> mediapipe indices), so photos "
            "cannot be fitted to it; use a model built on the project's head (assets/mesh_model.safetensors)"
        )
    table = LandmarkTable.from_vertices(mp, verts, names, topology=topology_hash(mesh.faces))
    table.confidence = default_confidence(table.mediapipe_index)
    table.info = {"source": "mesh model"}
    return table


def default_confidence(mediapipe_index: np.ndarray) -> np.ndarray:
    """Fit weights by region: the outline of the face (where mediapipe guesses most) counts half."""
    from head360.fit.landmarks import face_region

    oval = set(face_region("face_oval").tolist())
    return np.array([0.5 if int(i) in oval else 1.0 for i in mediapipe_index], np.float32)


def landmark_table(mesh) -> LandmarkTable:
    """The best table for ``mesh``: the calibrated one in assets/ when it was made for this topology,
    else the mesh model's own semantic table."""
    topo = topology_hash(mesh.faces)
    if CALIBRATED_TABLE_PATH.is_file():
        table = LandmarkTable.load(CALIBRATED_TABLE_PATH)
        if table.topology == topo and int(table.vertices.max()) < mesh.num_vertices:
            return table
    return table_from_mesh_info(mesh)


# --- the solver -----------------------------------------------------------------------------------
UNSEEN_BY_LANDMARKS = ("tongueOut",)
"""Blendshapes no face-mesh landmark sees (mediapipe has lip contours but no tongue points): fitted to
landmarks they only soak up lip residuals (a smiling photo came out with tongueOut 0.46), so the solvers
leave them alone unless asked."""


@dataclass
class LandmarkFitConfig:
    """Settings of the landmark -> mesh solver."""

    rigid_steps: int = 20
    """Solver iterations on the pose and focal alone (mean shape, neutral expression) first."""
    steps: int = 40
    """Solver iterations on pose, focal, shape and expression together."""
    landmark_sigma: float = 0.02
    """Expected landmark noise as a fraction of the face size: residuals are divided by it."""
    shape_prior: float = 1.0
    """Weight of ||s||^2 (s ~ N(0, I) has E||s||^2 = 50)."""
    weight_l1: float = 10.0
    """Sparsity of the blendshape weights (sum of b; b >= 0)."""
    weight_l2: float = 2.0
    """Smallness of the blendshape weights (sum of b^2)."""
    distance_prior: float = 50.0
    """Weight of (log(distance / CAMERA_RADIUS) / 0.3)^2: keeps the camera at a portrait distance."""
    fit_shape: bool = True
    fit_expression: bool = True
    fit_focal: bool = True
    free_blendshapes: tuple[str, ...] | None = None
    """Names of the blendshapes the fit may use (None: all 52 but ``unseen_blendshapes``). Others stay at
    their initial value."""
    unseen_blendshapes: tuple[str, ...] = UNSEEN_BY_LANDMARKS
    """Blendshapes the face-mesh landmarks cannot see, left out when ``free_blendshapes`` is None."""
    temporal_prior: float = 0.0
    """Weight of ||b - b_init||^2 (tracking: pulls the weights toward the previous frame's)."""


TRACKING = LandmarkFitConfig(rigid_steps=0, steps=10, fit_shape=False, temporal_prior=20.0)
"""Preset for video frames: warm start from the previous frame, shape held fixed."""


@dataclass
class MeshFit:
    """Result of a fit.

    shape_code [50], blend_weights [52] in [0, 1] (ARKit order)
    rotation [3, 3], translation [3]: head (world) -> OpenCV camera: ``p_cam = R @ v + t``
    focal_px, principal (cx, cy): the photo camera in pixels; image_size (W, H)
    error_init_px / error_px: RMS reprojection error (pixels) of the initial guess (mean head, neutral,
    rigid pose) and of the fit; errors_px [L] per landmark after the fit; mediapipe_index [L]
    """

    shape_code: np.ndarray
    blend_weights: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    focal_px: float
    principal: tuple[float, float]
    image_size: tuple[int, int]
    error_init_px: float
    error_px: float
    errors_px: np.ndarray
    mediapipe_index: np.ndarray
    face_size_px: float
    seconds: float = 0.0

    @property
    def error_relative(self) -> float:
        """RMS error as a fraction of the face size (scale-free)."""
        return self.error_px / max(self.face_size_px, 1e-6)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Head-frame points [N, 3] -> photo pixels [N, 2]."""
        p = np.asarray(points, np.float64) @ self.rotation.T + self.translation
        uv = p[:, :2] / p[:, 2:3]
        return (self.focal_px * uv + np.asarray(self.principal)).astype(np.float32)

    def camera_position(self) -> np.ndarray:
        """Where the photo's camera was, in the head frame [3]."""
        return -self.rotation.T @ self.translation

    def view_angles(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) in degrees of the photo's viewpoint in the orbit convention of
        ``head360.cameras`` (yaw 0 = frontal, 90 = from the subject's left; pitch > 0 from above; roll:
        in-image rotation of the head, positive clockwise)."""
        c = self.camera_position()
        yaw = math.degrees(math.atan2(c[0], c[2]))
        pitch = math.degrees(math.asin(np.clip(c[1] / max(np.linalg.norm(c), 1e-9), -1.0, 1.0)))
        orbit = Camera.orbit(yaw, pitch, radius=float(np.linalg.norm(c)))
        # the orbit camera's right axis vs the photo camera's right axis, both in the head frame
        right_photo = self.rotation[0]
        down_orbit, right_orbit = orbit.cam2world[:3, 1], orbit.cam2world[:3, 0]
        roll = math.degrees(math.atan2(float(right_photo @ down_orbit), float(right_photo @ right_orbit)))
        return yaw, pitch, roll

    def orbit_camera(self, radius: float = CAMERA_RADIUS, focal: float = FOCAL) -> Camera:
        """A rig-style camera (looking at the head's origin) from the photo's viewpoint."""
        yaw, pitch, _ = self.view_angles()
        return Camera.orbit(yaw, pitch, radius=radius, focal=focal)


def _rodrigues(w: torch.Tensor) -> torch.Tensor:
    """Axis-angle [3] -> rotation [3, 3] (smooth and NaN-free at 0)."""
    theta2 = (w * w).sum()
    small = theta2 < 1e-8
    safe2 = torch.where(small, torch.ones_like(theta2), theta2)  # keeps the unused branch finite
    theta = torch.sqrt(safe2)
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / safe2)
    zero = torch.zeros((), dtype=w.dtype)
    k = torch.stack([zero, -w[2], w[1], w[2], zero, -w[0], -w[1], w[0], zero]).view(3, 3)
    return torch.eye(3, dtype=w.dtype) + a * k + b * (k @ k)


class MeshFitter:
    """Fits one mesh model through one landmark table; holds the landmark rows of the model's bases
    (build once, fit many images or frames)."""

    def __init__(self, mesh, table: LandmarkTable | None = None, config: LandmarkFitConfig | None = None):
        self.mesh = mesh
        self.table = table if table is not None else landmark_table(mesh)
        self.config = config or LandmarkFitConfig()
        t = self.table
        if int(t.vertices.max()) >= mesh.num_vertices:
            raise Head360Error(
                f"the landmark table refers to vertex {int(t.vertices.max())} but the mesh has {mesh.num_vertices}"
            )
        w = t.weights.astype(np.float64)

        def rows(a: np.ndarray) -> torch.Tensor:  # [..., V, 3] -> [..., L, 3]
            return torch.as_tensor(np.einsum("lk,...lkc->...lc", w, a[..., t.vertices, :]), dtype=torch.float64)

        n = NUM_BLENDSHAPES
        self.num_points = len(t)
        self.mean = rows(mesh.mean).reshape(-1)  # [L*3]
        self.shape_basis = rows(mesh.shape_basis).reshape(mesh.shape_dim, -1)  # [S, L*3]
        self.expr_basis = rows(mesh.expr_basis).reshape(n, -1)  # [52, L*3]
        k = mesh.interaction_rank
        # [K, 52*L*3]: how the blendshape deltas change along the first K shape directions
        xs = rows(mesh.expr_shape_basis)  # [52, K, L, 3]
        self.expr_shape_basis = xs.permute(1, 0, 2, 3).reshape(k, n * self.num_points * 3).contiguous()

    def points(self, shape: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """shape [S], weights [52] (float64) -> landmark points [L, 3]."""
        k = self.expr_shape_basis.shape[0]
        v = self.mean + shape @ self.shape_basis
        deltas = self.expr_basis
        if k:
            deltas = deltas + (shape[:k] @ self.expr_shape_basis).view_as(deltas)
        return (v + weights @ deltas).view(-1, 3)

    def fit(
        self,
        landmarks_px: np.ndarray,
        image_size: tuple[int, int],
        config: LandmarkFitConfig | None = None,
        init: MeshFit | None = None,
        shape: np.ndarray | None = None,
        visible: np.ndarray | None = None,
    ) -> MeshFit:
        """Fit to mediapipe landmarks.

        landmarks_px: [478, 2] (or [468, 2]) pixel coordinates indexed by mediapipe index
        image_size: (W, H) of the photo; init: a previous fit to start from (video frames);
        shape: [50] a fixed shape code (then only pose, focal and expression move);
        visible: [478] bool, landmarks to use (default all the table needs)
        """
        with single_torch_thread():  # tiny tensors: extra threads only add synchronisation
            return self._fit(landmarks_px, image_size, config or self.config, init, shape, visible)

    def _fit(self, landmarks_px, image_size, cfg: LandmarkFitConfig, init, shape, visible) -> MeshFit:
        t0 = time.perf_counter()
        lm = np.asarray(landmarks_px, np.float64)
        if lm.ndim != 2 or lm.shape[1] < 2:
            raise Head360Error(f"landmarks must be [N, 2] pixel coordinates, got shape {lm.shape}")
        use = self.table.mediapipe_index < len(lm)
        if visible is not None:
            vis = np.asarray(visible, bool)
            use &= np.array([i < len(vis) and vis[i] for i in self.table.mediapipe_index])
        if use.sum() < 6:
            raise Head360Error(f"only {int(use.sum())} landmarks of the table were found; a fit needs at least 6")
        idx = np.flatnonzero(use)
        target = torch.as_tensor(lm[self.table.mediapipe_index[idx], :2], dtype=torch.float64)
        conf = torch.as_tensor(self.table.confidence[idx], dtype=torch.float64)
        w, h = int(image_size[0]), int(image_size[1])
        principal = torch.tensor([w / 2.0, h / 2.0], dtype=torch.float64)
        centred = target - target.mean(0)
        face_size = float(torch.sqrt((centred**2).sum(1).mean()) * 2.0)  # ~ the face's width in pixels
        nb = NUM_BLENDSHAPES

        # --- starting point ---------------------------------------------------------------------
        s0 = np.zeros(self.mesh.shape_dim) if shape is None else np.asarray(shape, np.float64)
        if init is not None:
            b0 = np.asarray(init.blend_weights, np.float64)
            if shape is None:
                s0 = np.asarray(init.shape_code, np.float64)
            r_init, t_init, f_init = init.rotation, init.translation, init.focal_px
        else:
            b0 = np.zeros(nb)
            with torch.no_grad():
                p0 = self.points(torch.as_tensor(s0), torch.as_tensor(b0)).numpy()[idx]
            r_init, t_init, f_init = _initial_pose(p0, target.numpy(), principal.numpy(), conf.numpy())

        from head360.arkit import index_of

        free_b = torch.ones(nb, dtype=torch.bool)
        if cfg.free_blendshapes is not None:
            free_b[:] = False
            for name in cfg.free_blendshapes:
                free_b[index_of(name)] = True
        else:
            for name in cfg.unseen_blendshapes:
                free_b[index_of(name)] = False
        problem = _Problem(
            self,
            rows=torch.as_tensor(idx),
            target=target,
            weight=torch.sqrt(conf) / (face_size * cfg.landmark_sigma),
            principal=principal,
            config=cfg,
            b_prev=torch.as_tensor(b0, dtype=torch.float64),
        )
        state = _State(
            torch.as_tensor(r_init, dtype=torch.float64),
            torch.as_tensor(np.asarray(t_init, np.float64)),
            torch.tensor(math.log(f_init), dtype=torch.float64),
            torch.as_tensor(s0, dtype=torch.float64),
            torch.as_tensor(b0, dtype=torch.float64),
        )
        err_init = problem.rms_px(state)
        ns = self.mesh.shape_dim
        free = torch.zeros(7 + ns + nb, dtype=torch.bool)
        free[:6] = True
        free[6] = cfg.fit_focal
        if cfg.rigid_steps:
            state = problem.solve(state, free, with_model=False, iterations=cfg.rigid_steps)
            err_init = min(err_init, problem.rms_px(state))
        free[7 : 7 + ns] = cfg.fit_shape and shape is None
        free[7 + ns :] = free_b if cfg.fit_expression else False
        if cfg.steps:
            state = problem.solve(state, free, with_model=True, iterations=cfg.steps)
        rot, trans, log_f, s, b = state.rotation, state.translation, state.log_focal, state.shape, state.weights
        r = problem.residual_px(state)
        per = np.full(len(self.table), np.nan, np.float32)
        per[idx] = r.norm(dim=1).numpy()
        return MeshFit(
            shape_code=s.detach().numpy().astype(np.float32),
            blend_weights=b.detach().numpy().astype(np.float32),
            rotation=rot.detach().numpy(),
            translation=trans.detach().numpy().copy(),
            focal_px=float(torch.exp(log_f)),
            principal=(w / 2.0, h / 2.0),
            image_size=(w, h),
            error_init_px=err_init,
            error_px=float(torch.sqrt((r**2).sum(1).mean())),
            errors_px=per,
            mediapipe_index=self.table.mediapipe_index.copy(),
            face_size_px=face_size,
            seconds=time.perf_counter() - t0,
        )


@dataclass
class _State:
    rotation: torch.Tensor  # [3, 3]
    translation: torch.Tensor  # [3]
    log_focal: torch.Tensor  # []
    shape: torch.Tensor  # [S]
    weights: torch.Tensor  # [52]

    def step(self, delta: torch.Tensor) -> _State:
        """Apply an update [3 + 3 + 1 + S + 52] (rotation as a left axis-angle increment)."""
        ns = len(self.shape)
        return _State(
            _rodrigues(delta[:3]) @ self.rotation,
            self.translation + delta[3:6],
            self.log_focal + delta[6],
            self.shape + delta[7 : 7 + ns],
            (self.weights + delta[7 + ns :]).clamp(0.0, 1.0),
        )


@dataclass
class _Problem:
    """The least-squares problem of one fit: residuals, their Jacobian, and a projected
    Levenberg-Marquardt solver (blendshape weights kept in [0, 1]; their L1 prior enters the
    gradient exactly since it is linear on b >= 0)."""

    fitter: MeshFitter
    rows: torch.Tensor  # [L'] rows of the table in use
    target: torch.Tensor  # [L', 2] pixels
    weight: torch.Tensor  # [L'] sqrt(confidence) / (face size * sigma)
    principal: torch.Tensor  # [2]
    config: LandmarkFitConfig
    b_prev: torch.Tensor  # [52]

    def _points(self, st: _State) -> torch.Tensor:
        return self.fitter.points(st.shape, st.weights)[self.rows]

    def residual_px(self, st: _State) -> torch.Tensor:
        cam = self._points(st) @ st.rotation.T + st.translation
        z = cam[:, 2:3].clamp_min(1e-3)
        return torch.exp(st.log_focal) * cam[:, :2] / z + self.principal - self.target

    def rms_px(self, st: _State) -> float:
        return float(torch.sqrt((self.residual_px(st) ** 2).sum(1).mean()))

    def objective(self, st: _State, with_model: bool) -> float:
        r, _ = self.linearize(st, with_model, jacobian=False)
        value = float(r @ r)
        if with_model:
            value += self.config.weight_l1 * float(st.weights.sum())
        return value

    def linearize(self, st: _State, with_model: bool, jacobian: bool = True):
        """-> residuals [M], Jacobian [M, 7 + S + 52] (or None) w.r.t. the update of :meth:`_State.step`."""
        cfg, f = self.config, self.fitter
        ns, nb = len(st.shape), len(st.weights)
        n = 7 + ns + nb
        pts = self._points(st)  # [L, 3]
        q = pts @ st.rotation.T
        cam = q + st.translation
        z = cam[:, 2].clamp_min(1e-3)
        focal = torch.exp(st.log_focal)
        uv = focal * cam[:, :2] / z[:, None]
        wgt = self.weight[:, None]
        res = [((uv + self.principal - self.target) * wgt).reshape(-1)]
        dist = st.translation.norm()
        k_dist = math.sqrt(cfg.distance_prior) / 0.3
        res.append((k_dist * torch.log(dist / CAMERA_RADIUS)).reshape(1))
        if with_model:
            res.append(math.sqrt(cfg.shape_prior) * st.shape)
            res.append(math.sqrt(cfg.weight_l2) * st.weights)
            if cfg.temporal_prior:
                res.append(math.sqrt(cfg.temporal_prior) * (st.weights - self.b_prev))
        r = torch.cat(res)
        if not jacobian:
            return r, None
        num_l = len(pts)
        # d(u, v) / d(camera point): [L, 2, 3]
        a = torch.zeros(num_l, 2, 3, dtype=torch.float64)
        a[:, 0, 0] = focal / z
        a[:, 1, 1] = focal / z
        a[:, :, 2] = -uv / z[:, None]
        jd = torch.zeros(num_l, 2, n, dtype=torch.float64)
        skew = torch.zeros(num_l, 3, 3, dtype=torch.float64)  # d(exp(w) q)/dw at 0 = -[q]x
        skew[:, 0, 1], skew[:, 0, 2] = q[:, 2], -q[:, 1]
        skew[:, 1, 0], skew[:, 1, 2] = -q[:, 2], q[:, 0]
        skew[:, 2, 0], skew[:, 2, 1] = q[:, 1], -q[:, 0]
        jd[:, :, 0:3] = a @ skew
        jd[:, :, 3:6] = a
        jd[:, :, 6] = uv
        # model directions: dP/ds [S, L, 3] and dP/db [52, L, 3] (rows of the table in use)
        big_l = f.num_points
        k = f.expr_shape_basis.shape[0]
        dps = f.shape_basis.view(ns, big_l, 3)
        deltas = f.expr_basis
        if k:
            xs = f.expr_shape_basis.view(k, nb, -1)
            deltas = deltas + (st.shape[:k] @ f.expr_shape_basis).view_as(deltas)
            dps = dps.clone()
            dps[:k] += torch.einsum("j,kjn->kn", st.weights, xs).view(k, big_l, 3)
        dpb = deltas.view(nb, big_l, 3)
        dp = torch.cat([dps, dpb])[:, self.rows]  # [S + 52, L, 3]
        dcam = torch.einsum("ac,nlc->lan", st.rotation, dp)  # [L, 3, S + 52]
        jd[:, :, 7:] = a @ dcam
        jac = [(jd * wgt[:, :, None]).reshape(-1, n)]
        jrow = torch.zeros(1, n, dtype=torch.float64)
        jrow[0, 3:6] = k_dist * st.translation / dist**2
        jac.append(jrow)
        if with_model:
            eye_s = torch.zeros(ns, n, dtype=torch.float64)
            eye_s[:, 7 : 7 + ns] = torch.eye(ns, dtype=torch.float64) * math.sqrt(cfg.shape_prior)
            jac.append(eye_s)
            eye_b = torch.zeros(nb, n, dtype=torch.float64)
            eye_b[:, 7 + ns :] = torch.eye(nb, dtype=torch.float64)
            jac.append(eye_b * math.sqrt(cfg.weight_l2))
            if cfg.temporal_prior:
                jac.append(eye_b * math.sqrt(cfg.temporal_prior))
        return r, torch.cat(jac)

    def solve(self, st: _State, free: torch.Tensor, with_model: bool, iterations: int) -> _State:
        """Projected Levenberg-Marquardt over the ``free`` entries of the update."""
        ns = len(st.shape)
        l1 = torch.zeros(7 + ns + len(st.weights), dtype=torch.float64)
        if with_model:
            l1[7 + ns :] = 0.5 * self.config.weight_l1
        damping = 1e-3
        value = self.objective(st, with_model)
        for _ in range(iterations):
            r, jac = self.linearize(st, with_model)
            grad = jac.T @ r + l1
            active = free.clone()
            b = st.weights
            at_low = (b <= 0.0) & (grad[7 + ns :] > 0)
            at_high = (b >= 1.0) & (grad[7 + ns :] < 0)
            active[7 + ns :] &= ~(at_low | at_high)
            idx = torch.nonzero(active)[:, 0]
            if len(idx) == 0:
                break
            h = jac[:, idx].T @ jac[:, idx]
            g = grad[idx]
            diag = torch.diagonal(h).clamp_min(1e-9)
            improved = False
            for _ in range(8):
                delta = torch.zeros_like(grad)
                delta[idx] = -torch.linalg.solve(h + damping * torch.diag(diag), g)
                trial = st.step(delta)
                new_value = self.objective(trial, with_model)
                if new_value < value:
                    improved = True
                    break
                damping *= 4.0
            if not improved:
                break
            converged = value - new_value < 1e-9 * max(value, 1.0)
            st, value = trial, new_value
            damping = max(damping / 3.0, 1e-7)
            if converged:
                break
        return st


def _initial_pose(points: np.ndarray, target: np.ndarray, principal: np.ndarray, conf: np.ndarray):
    """Rigid pose + focal of the mean head: focal from the rig distance, then OpenCV's PnP.

    points [L, 3] head frame, target [L, 2] pixels -> (R [3,3], t [3], focal_px)."""
    import cv2

    p_c = points - points.mean(0)
    t_c = target - target.mean(0)
    world_size = math.sqrt(float((p_c[:, :2] ** 2).sum(1).mean()))
    px_size = math.sqrt(float((t_c**2).sum(1).mean()))
    focal = CAMERA_RADIUS * px_size / max(world_size, 1e-6)
    k = np.array([[focal, 0, principal[0]], [0, focal, principal[1]], [0, 0, 1]], np.float64)
    r0 = np.diag([1.0, -1.0, -1.0])  # a camera in front of the face, looking at it (y down)
    off = (target.mean(0) - principal) / focal * CAMERA_RADIUS
    t0 = np.array([off[0], off[1], CAMERA_RADIUS]) - r0 @ points.mean(0)
    rvec0, _ = cv2.Rodrigues(r0)
    ok, rvec, tvec = cv2.solvePnP(
        points.astype(np.float64), target.astype(np.float64), k, None, rvec0.reshape(3, 1).copy(),
        t0.reshape(3, 1).copy(), True, cv2.SOLVEPNP_ITERATIVE,
    )  # fmt: skip
    tvec = np.asarray(tvec, np.float64).reshape(3)
    if ok and tvec[2] > 0:
        r, _ = cv2.Rodrigues(rvec)
        return r, tvec.reshape(3), focal
    return r0, t0, focal
