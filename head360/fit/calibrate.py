"""Measure and calibrate the landmark table: which point of the template head each mediapipe
face-mesh landmark is.

The procedural head (``head360.mesh.template``) carries a semantic table (68 points + extras, each a
template vertex with its mediapipe index), chosen by hand. This script checks it and builds a denser,
data-driven one:

1. render procedural subjects of the data factory (several identities x expressions x near-frontal
   views, bald so the forehead is visible) with ``head360.gl``;
2. run mediapipe on each render;
3. validation: per semantic landmark, the 2D distance between mediapipe's point and the projected
   template vertex (in pixels and as a share of the interpupillary distance);
4. calibration: back-project every mediapipe point through the render's depth onto the subject's mesh,
   carry the hit (triangle + barycentric weights) to the mean template, take the median over the
   training renders, and snap it onto the template surface (the skin for face points, the eyeballs for
   the iris points); the spread across renders sets each entry's confidence;
5. evaluate both tables on held-out subjects.

Run it again whenever the template changes (the table records the topology it was made for)::

    python -m head360.fit.calibrate --out assets/landmark_table.json --report docs/landmark_calibration.json
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from head360.cameras import Camera

IRIS_RIGHT = range(468, 473)  # subject's right eye (-x)
IRIS_LEFT = range(473, 478)


@dataclass
class CalibrationConfig:
    """What the calibration renders."""

    train_subjects: int = 8
    held_out_subjects: int = 4
    seed: int = 1234
    """Dataset seed of the factory subjects (any seed: these are never training data)."""
    resolution: int = 512
    focal: float = 3.4
    """Normalised focal of the render cameras (tighter than the rig's 2.1: the face fills the frame)."""
    target: tuple[float, float, float] = (0.0, -0.1, 0.3)
    """Where the cameras look (the middle of the face)."""
    views: tuple[tuple[float, float], ...] = ((0.0, 0.0), (-15.0, 0.0), (15.0, 0.0), (0.0, -10.0), (0.0, 10.0))
    """(yaw, pitch) in degrees around ``target``."""
    expressions: tuple[dict[str, float], ...] = (
        {},
        {"jawOpen": 0.35},
        {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6},
        {"eyeBlinkLeft": 0.5, "eyeBlinkRight": 0.5, "browInnerUp": 0.6},
    )


@dataclass
class Observation:
    """One render of one subject: mediapipe's points and what lies under them."""

    subject: int
    view: tuple[float, float]
    expression: int
    points_px: np.ndarray  # [478, 2] mediapipe
    hit_face: np.ndarray  # [478] triangle of the subject's mesh under each point (-1: none)
    hit_bary: np.ndarray  # [478, 3]
    vertices: np.ndarray  # [V, 3] the subject's posed mesh
    camera: Camera
    iod_px: float
    size: int  # render resolution (pixels)


def _weights(expression: dict[str, float]) -> np.ndarray:
    from head360.arkit import NUM_BLENDSHAPES, index_of

    w = np.zeros(NUM_BLENDSHAPES, np.float32)
    for name, value in expression.items():
        w[index_of(name)] = value
    return w


def allowed_faces(template) -> dict[str, np.ndarray]:
    """Faces a landmark may land on: 'skin' (face surface incl. lips and lids; no eyeballs, linings,
    mouth interior), 'iris_right' / 'iris_left' (the eyeballs)."""
    from head360.mesh.template import Part

    part = template.face_part
    return {
        "skin": np.flatnonzero(part == int(Part.SKIN)),
        "iris_right": np.flatnonzero(part == int(Part.EYEBALL_RIGHT)),
        "iris_left": np.flatnonzero(part == int(Part.EYEBALL_LEFT)),
    }


def _group_of(mp_index: int) -> str:
    if mp_index in IRIS_RIGHT:
        return "iris_right"
    if mp_index in IRIS_LEFT:
        return "iris_left"
    return "skin"


def closest_on_triangles(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closest point of each of K candidate triangles to each point (Ericson's region test).

    points [N, 3], triangles [N, K, 3, 3] -> (closest [N, K, 3], barycentric [N, K, 3], distance [N, K])."""
    p = points[:, None, :]
    a, b, c = triangles[:, :, 0], triangles[:, :, 1], triangles[:, :, 2]
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = p - b
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = p - c
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    eps = 1e-12
    # interior
    denom = np.where(np.abs(va + vb + vc) < eps, eps, va + vb + vc)
    v = vb / denom
    w = vc / denom
    bary = np.stack([1 - v - w, v, w], -1)

    def setb(mask, val):
        bary[mask] = val[mask]

    # edge regions and vertex regions (later assignments win, in reverse priority order)
    t_bc = np.clip((d4 - d3) / np.where(np.abs((d4 - d3) + (d5 - d6)) < eps, eps, (d4 - d3) + (d5 - d6)), 0, 1)
    setb((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), np.stack([0 * t_bc, 1 - t_bc, t_bc], -1))
    t_ac = np.clip(d2 / np.where(np.abs(d2 - d6) < eps, eps, d2 - d6), 0, 1)
    setb((vb <= 0) & (d2 >= 0) & (d6 <= 0), np.stack([1 - t_ac, 0 * t_ac, t_ac], -1))
    t_ab = np.clip(d1 / np.where(np.abs(d1 - d3) < eps, eps, d1 - d3), 0, 1)
    setb((vc <= 0) & (d1 >= 0) & (d3 <= 0), np.stack([1 - t_ab, t_ab, 0 * t_ab], -1))
    one = np.ones_like(d1)
    zero = np.zeros_like(d1)
    setb((d6 >= 0) & (d5 <= d6), np.stack([zero, zero, one], -1))
    setb((d3 >= 0) & (d4 <= d3), np.stack([zero, one, zero], -1))
    setb((d1 <= 0) & (d2 <= 0), np.stack([one, zero, zero], -1))
    closest = bary[..., 0:1] * a + bary[..., 1:2] * b + bary[..., 2:3] * c
    return closest, bary, np.linalg.norm(closest - p, axis=-1)


class SurfaceLocator:
    """Closest point on a subset of a mesh's triangles (candidates: faces around the nearest vertices)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, face_ids: np.ndarray, neighbours: int = 12):
        from scipy.spatial import cKDTree

        self.faces = faces
        self.face_ids = face_ids
        self.vertices = vertices
        sub = faces[face_ids]
        verts = np.unique(sub)
        self.tree = cKDTree(vertices[verts])
        self.tree_vertices = verts
        # vertex -> faces (of the subset) around it, padded
        counts = np.bincount(sub.reshape(-1), minlength=len(vertices))
        width = int(counts.max())
        table = np.full((len(vertices), width), -1, np.int64)
        fill = np.zeros(len(vertices), np.int64)
        for corner in range(3):
            for local, vtx in enumerate(sub[:, corner]):
                table[vtx, fill[vtx]] = face_ids[local]
                fill[vtx] += 1
        self.vertex_faces = table
        self.neighbours = neighbours

    def locate(self, points: np.ndarray, vertices: np.ndarray | None = None):
        """points [N, 3] -> (face [N], barycentric [N, 3], distance [N]) on ``vertices`` (default: the
        mesh given at construction; same topology)."""
        verts = self.vertices if vertices is None else vertices
        if vertices is not None:
            from scipy.spatial import cKDTree

            tree = cKDTree(verts[self.tree_vertices])
        else:
            tree = self.tree
        _, near = tree.query(points, k=self.neighbours)
        cand = self.vertex_faces[self.tree_vertices[near]].reshape(len(points), -1)  # [N, k*width]
        cand_safe = np.where(cand < 0, self.face_ids[0], cand)
        tris = verts[self.faces[cand_safe]]  # [N, K, 3, 3]
        _, bary, dist = closest_on_triangles(points, tris)
        dist = np.where(cand < 0, np.inf, dist)
        best = np.argmin(dist, axis=1)
        rows = np.arange(len(points))
        return cand_safe[rows, best], bary[rows, best], dist[rows, best]


def observe(cfg: CalibrationConfig, subjects: list[int], progress=None) -> list[Observation]:
    """Render ``subjects`` (factory indices) and collect mediapipe points + what lies under them."""
    import head360.gl  # noqa: F401  (EGL before OpenGL)
    from head360.fit.landmarks import LEFT_IRIS, RIGHT_IRIS, LandmarkDetector
    from head360.gl.renderer import MeshRenderer
    from head360.synth.subject import SubjectAssets, sample_subject

    renderer = MeshRenderer(cfg.resolution, supersample=2)
    observations = []
    groups = None
    with LandmarkDetector() as detector:
        for si in subjects:
            assets = SubjectAssets.build(sample_subject(cfg.seed, si), texture_size=512)
            t = assets.template
            if groups is None:
                allowed = allowed_faces(t)
                locators = {g: SurfaceLocator(t.vertices, t.faces, ids) for g, ids in allowed.items()}
                groups = np.array([_group_of(i) for i in range(478)])
            for ei, expression in enumerate(cfg.expressions):
                verts = assets.vertices(_weights(expression))
                renderer.set_scene(assets.render_meshes(_weights(expression), hair=False))
                for yaw, pitch in cfg.views:
                    cam = Camera.orbit(yaw, pitch, radius=7.0, target=cfg.target, focal=cfg.focal)
                    out = renderer.render(cam, outputs=("rgb", "depth"))
                    faces = detector.detect(out.rgb)
                    if progress:
                        progress(f"subject {si} expression {ei} view ({yaw:g}, {pitch:g}): {len(faces)} face(s)")
                    if not faces:
                        continue
                    pts = faces[0].xy.astype(np.float64)
                    world = _unproject(pts, out.depth, cam, cfg.resolution)
                    hit_face = np.full(478, -1, np.int64)
                    hit_bary = np.zeros((478, 3))
                    ok = np.isfinite(world).all(1)
                    for g, loc in locators.items():
                        sel = np.flatnonzero(ok & (groups == g))
                        if len(sel):
                            f, bary, dist = loc.locate(world[sel], verts)
                            good = dist < 0.08  # 8 mm: the depth and the mesh agree
                            hit_face[sel[good]] = f[good]
                            hit_bary[sel[good]] = bary[good]
                    iod = float(np.linalg.norm(pts[RIGHT_IRIS] - pts[LEFT_IRIS]))
                    observations.append(
                        Observation(si, (yaw, pitch), ei, pts, hit_face, hit_bary, verts, cam, iod, cfg.resolution)
                    )
    renderer.close()
    return observations


def _unproject(px: np.ndarray, depth: np.ndarray, cam: Camera, size: int) -> np.ndarray:
    """Pixels [N, 2] + a depth map (camera z, 0 = empty) -> world points [N, 3] (NaN where empty).
    Depth is read at the nearest pixel, then the minimum over its 3x3 neighbourhood that is not
    empty (a point on a silhouette edge takes the nearer surface)."""
    n = len(px)
    out = np.full((n, 3), np.nan)
    ix = np.clip(np.floor(px).astype(int), 0, size - 1)
    for i in range(n):
        x, y = ix[i]
        win = depth[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2]
        z = float(depth[y, x])
        if z <= 0:
            valid = win[win > 0]
            if not len(valid):
                continue
            z = float(valid.min())
        d = np.array([(px[i, 0] / size - cam.cx) / cam.focal, (px[i, 1] / size - cam.cy) / cam.focal, 1.0])
        out[i] = cam.cam2world[:3, :3] @ (d * z) + cam.cam2world[:3, 3]
    return out


def measure_table(observations: list[Observation], mp_index: np.ndarray, vertices: np.ndarray, weights: np.ndarray):
    """Per entry of a table: 2D distances (pixels and share of the interpupillary distance) between
    mediapipe's point and the projected table point, over all observations -> dict of arrays."""
    px_err, rel_err = [], []
    for ob in observations:
        pts3 = np.einsum("lk,lkc->lc", weights, ob.vertices[vertices])
        proj = ob.camera.project(pts3, ob.size)
        d = np.linalg.norm(proj - ob.points_px[mp_index], axis=1)
        px_err.append(d)
        rel_err.append(d / ob.iod_px)
    return np.array(px_err), np.array(rel_err)


def calibrate(cfg: CalibrationConfig, observations: list[Observation], template):
    """Build the dense table from training observations -> LandmarkTable."""
    from head360.fit.meshfit import LandmarkTable, default_confidence, topology_hash

    allowed = allowed_faces(template)
    locators = {g: SurfaceLocator(template.vertices, template.faces, ids) for g, ids in allowed.items()}
    mean_v = template.vertices.astype(np.float64)
    semantic = {lm.mediapipe: lm.name for lm in template.landmarks}
    rows = []
    for i in range(478):
        pts = []
        for ob in observations:
            f = ob.hit_face[i]
            if f >= 0:
                pts.append(ob.hit_bary[i] @ mean_v[template.faces[f]])
        if len(pts) < max(3, len(observations) // 4):
            continue  # seen too rarely (e.g. hidden in most views): leave it out
        pts = np.array(pts)
        centre = np.median(pts, axis=0)
        spread = float(np.median(np.linalg.norm(pts - centre, axis=1)))
        face, bary, _ = locators[_group_of(i)].locate(centre[None])
        bary = np.clip(bary[0], 0.0, 1.0)
        bary = bary / bary.sum()
        rows.append((i, template.faces[face[0]], bary, spread, len(pts)))
    mp = np.array([r[0] for r in rows], np.int64)
    spread = np.array([r[3] for r in rows])
    # confidence: region prior (jaw outline counts half) x agreement across renders (1 mm ~ 1.0, 5 mm ~ 0.3)
    conf = default_confidence(mp) * np.clip(0.1 / np.maximum(spread, 0.01), 0.2, 1.0) ** 0.5
    table = LandmarkTable(
        mediapipe_index=mp,
        vertices=np.array([r[1] for r in rows], np.int64),
        weights=np.array([r[2] for r in rows], np.float32),
        names=[semantic.get(int(i), f"mp{i}") for i in mp],
        confidence=conf.astype(np.float32),
        topology=topology_hash(template.faces),
    )
    table.info = {
        "source": "head360.fit.calibrate",
        "observations": len(observations),
        "spread_mm_median": round(float(np.median(spread)) * 100, 2),
    }
    return table


def run(cfg: CalibrationConfig, out: str | None, report: str | None, verbose: bool = True) -> dict:
    from head360.fileio import write_json
    from head360.mesh.template import build_template

    t0 = time.perf_counter()
    log = (lambda msg: print(msg, file=sys.stderr)) if verbose else None
    template = build_template()
    train_ids = list(range(cfg.train_subjects))
    held_ids = list(range(1000, 1000 + cfg.held_out_subjects))
    train = observe(cfg, train_ids, log)
    held = observe(cfg, held_ids, log)
    table = calibrate(cfg, train, template)

    semantic = template.landmarks
    sem_mp = np.array([lm.mediapipe for lm in semantic], np.int64)
    sem_v = np.repeat(np.array([lm.vertex for lm in semantic], np.int64)[:, None], 3, 1)
    sem_w = np.tile(np.array([1.0, 0.0, 0.0], np.float32), (len(semantic), 1))
    sem_px, sem_rel = measure_table(held, sem_mp, sem_v, sem_w)
    cal_px, cal_rel = measure_table(held, table.mediapipe_index, table.vertices, table.weights)
    # the calibrated table restricted to the semantic landmarks (same points, like for like)
    pos = {int(m): k for k, m in enumerate(table.mediapipe_index)}
    common = [k for k, m in enumerate(sem_mp) if int(m) in pos]
    cal_common = np.array([pos[int(sem_mp[k])] for k in common])

    def stats(rel: np.ndarray, px: np.ndarray) -> dict:
        return {
            "mean_px": round(float(px.mean()), 2),
            "median_px": round(float(np.median(px)), 2),
            "p95_px": round(float(np.percentile(px, 95)), 2),
            "mean_iod": round(float(rel.mean()), 4),
        }

    per_semantic = []
    for k, lm in enumerate(semantic):
        per_semantic.append(
            {
                "name": lm.name,
                "mediapipe": lm.mediapipe,
                "vertex": lm.vertex,
                "mean_px": round(float(sem_px[:, k].mean()), 2),
                "mean_iod": round(float(sem_rel[:, k].mean()), 4),
                "calibrated_mean_px": round(float(cal_px[:, pos[lm.mediapipe]].mean()), 2)
                if lm.mediapipe in pos
                else None,
            }
        )
    per_semantic.sort(key=lambda r: -r["mean_px"])
    result = {
        "renders": {"train": len(train), "held_out": len(held), "resolution": cfg.resolution},
        "interpupillary_px_mean": round(float(np.mean([o.iod_px for o in held])), 1),
        "semantic_table": {"entries": len(semantic), **stats(sem_rel, sem_px)},
        "calibrated_table_same_points": {
            "entries": len(common),
            **stats(cal_rel[:, cal_common], cal_px[:, cal_common]),
        },
        "calibrated_table_all": {"entries": len(table), **stats(cal_rel, cal_px)},
        "semantic_worst": per_semantic[:12],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    table.info["validation"] = {k: result[k] for k in ("semantic_table", "calibrated_table_same_points",
                                                         "calibrated_table_all")}  # fmt: skip
    if out:
        table.save(out)
    if report:
        write_json(report, {**result, "semantic_all": per_semantic}, indent=1)
    return result


def main(argv: list[str] | None = None) -> int:
    from head360.errors import Head360Error
    from head360.fit.meshfit import CALIBRATED_TABLE_PATH

    p = argparse.ArgumentParser(prog="python -m head360.fit.calibrate", description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(CALIBRATED_TABLE_PATH), help="table to write (JSON)")
    p.add_argument("--report", default=None, help="also write the full validation report (JSON)")
    p.add_argument("--subjects", type=int, default=8, help="training subjects (default 8)")
    p.add_argument("--held-out", type=int, default=4, help="held-out subjects for the evaluation (default 4)")
    args = p.parse_args(argv)
    cfg = CalibrationConfig(train_subjects=args.subjects, held_out_subjects=args.held_out)
    try:
        result = run(cfg, args.out, args.report)
    except Head360Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    import json

    print(json.dumps({k: v for k, v in result.items() if k != "semantic_worst"}, indent=1))
    print("worst semantic landmarks:", json.dumps(result["semantic_worst"][:6]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
