"""Triangulating the sculpted skin: directions -> spherical Delaunay -> openings -> 3D surface.

The skin is triangulated on the sphere of ray directions (see :mod:`head360.mesh.sculpt`), where the
convex hull of unit vectors is the spherical Delaunay triangulation. Points come from a Fibonacci
sphere pulled toward the face by a Moebius (conformal) warp, so triangles stay well shaped while the
face gets ~4x the linear density of the back of the head. Feature curves are inserted as points with
a clear zone around them so that they become mesh edges: the lid margins (boundaries of the eye
openings), the mouth line (cut open into a slit), the neck cut at the bottom of the head box, the
UV seam up the back of the head, and the crown. Finally the surface is relaxed in 3D (vertices slide
along the surface) to even out the spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from head360.mesh import sculpt

FACE_DIRECTION = np.array([0.0, -0.22, 1.0]) / np.linalg.norm([0.0, -0.22, 1.0])


@dataclass
class SkinMesh:
    """The skin surface (one open surface: neck cut, two eye openings, the mouth slit).

    vertices [V, 3]; faces [F, 3] (CCW from outside); directions [V, 3] (ray directions);
    eye_upper / eye_lower: per eye (left, right) vertex indices of the lid margins, inner -> outer
    corner (corners shared); mouth_upper / mouth_lower: vertex indices of the upper and lower lip
    edges from the right corner (-x) to the left corner (+x), corners shared; neck_ring: vertex
    indices around the neck cut; seam: vertex indices up the back midline (neck -> crown);
    crown: index of the crown vertex.
    """

    vertices: np.ndarray
    faces: np.ndarray
    directions: np.ndarray
    eye_upper: list[np.ndarray]
    eye_lower: list[np.ndarray]
    mouth_upper: np.ndarray
    mouth_lower: np.ndarray
    neck_ring: np.ndarray
    seam: np.ndarray
    crown: int
    band_rows: np.ndarray
    """[rows + 1, n_loop] vertex ids of the neck band, row 0 = the loop under the jaw."""


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _rotation_to_z(f: np.ndarray) -> np.ndarray:
    """Rotation matrix R with R @ f = +z."""
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(f, z)
    s, c = np.linalg.norm(v), float(f @ z)
    if s < 1e-12:
        return np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]]) / s
    ang = np.arctan2(s, c)
    return np.eye(3) + np.sin(ang) * k + (1 - np.cos(ang)) * (k @ k)


def fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1.0 - 2.0 * i / n)
    theta = np.pi * (1.0 + 5.0**0.5) * i
    return np.stack([np.cos(theta) * np.sin(phi), np.cos(phi), np.sin(theta) * np.sin(phi)], 1)


def moebius_warp(d: np.ndarray, focus: np.ndarray, s: float) -> np.ndarray:
    """Conformal map of the unit sphere that scales lengths by ``s`` at ``focus`` (and 1/s opposite)."""
    r = _rotation_to_z(focus)
    q = d @ r.T
    # stereographic projection from -z, scale, back
    px, py = q[:, 0] / (1.0 + q[:, 2]), q[:, 1] / (1.0 + q[:, 2])
    px, py = px * s, py * s
    r2 = px * px + py * py
    out = np.stack([2 * px, 2 * py, 1.0 - r2], 1) / (1.0 + r2)[:, None]
    return out @ r


def warp_scale(d: np.ndarray, focus: np.ndarray, s: float) -> np.ndarray:
    """Local length scale of :func:`moebius_warp` at the warped directions ``d`` [N, 3] -> [N]."""
    cos_t = np.clip(d @ focus, -1.0, 1.0)
    t = np.arccos(cos_t)  # angle after the warp
    u = np.tan(t / 2.0) / s  # tan(theta/2) before
    # d theta' / d theta = s sec^2(theta/2) / (1 + s^2 tan^2(theta/2))
    return s * (1 + u * u) / (1 + s * s * u * u)


def _sph(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(azimuth around +y from +z toward +x, elevation) of unit directions."""
    return np.arctan2(d[:, 0], d[:, 2]), np.arcsin(np.clip(d[:, 1], -1, 1))


def _from_sph(az: np.ndarray, el: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], 1)


def _resample_polyline(p: np.ndarray, n: int) -> np.ndarray:
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    t = np.linspace(0, s[-1], n)
    return np.stack([np.interp(t, s, p[:, k]) for k in range(p.shape[1])], 1)


def _point_in_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd test of 2D points [N, 2] against a closed polygon [M, 2]."""
    x, y = pts[:, 0][:, None], pts[:, 1][:, None]
    x0, y0 = poly[:, 0][None], poly[:, 1][None]
    x1, y1 = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    cond = (y0 > y) != (y1 > y)
    xint = x0 + (y - y0) * (x1 - x0) / np.where(y1 != y0, y1 - y0, 1e-12)
    return (np.sum(cond & (x < xint), axis=1) % 2) == 1


def _local_2d(d: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Gnomonic projection of directions onto the plane perpendicular to ``axis`` (x right, y up)."""
    r = _rotation_to_z(axis)
    q = d @ r.T
    # keep world "up" as local y: rotate around z so that world +y maps to +y
    up = np.array([0.0, 1.0, 0.0]) @ r.T
    ang = np.arctan2(up[0], up[1])
    c, s = np.cos(ang), np.sin(ang)
    x = (c * q[:, 0] - s * q[:, 1]) / q[:, 2]
    y = (s * q[:, 0] + c * q[:, 1]) / q[:, 2]
    return np.stack([x, y], 1)


def eye_margin_points(n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Target 3D points of the lid margins [n, 3] per eye (left, right), inner -> outer corner."""
    a = sculpt.ANATOMY
    upper2, lower2 = sculpt.lid_margin_2d(n)
    rr = a.eyeball_radius + a.lid_offset
    ups, los = [], []
    for side, c in zip((1.0, -1.0), sculpt.eye_centers(), strict=True):
        out = []
        for m in (upper2, lower2):
            ex, ey = m[:, 0], m[:, 1]
            rho2 = ex * ex + ey * ey
            ez = np.sqrt(np.maximum(rr * rr - rho2, 0.03**2))
            out.append(c + np.stack([side * ex, ey, ez], 1))
        ups.append(out[0])
        los.append(out[1])
    return ups, los


def _recover_edges(faces: np.ndarray, dirs: np.ndarray, chains: list[np.ndarray]) -> np.ndarray:
    """Make every consecutive pair of each chain an edge, flipping the one edge that crosses it.

    With clear zones around the curves, Delaunay misses at most a few curve edges, each crossed by a
    single edge (near the thin ends of the eye openings); anything else is a construction error.
    """
    faces = faces.copy()
    for chain in chains:
        for p, q in zip(chain[:-1].tolist(), chain[1:].tolist(), strict=True):
            has_p = np.nonzero((faces == p).any(1))[0]
            if any(q in faces[t] for t in has_p):
                continue
            axis = _normalize(dirs[p] + dirs[q])
            flipped = False
            for t in has_p:
                tri = faces[t].tolist()
                i = tri.index(p)
                a_, b_ = tri[(i + 1) % 3], tri[(i + 2) % 3]
                # the triangle on the other side of edge (a, b) must contain q
                other = np.nonzero((faces == a_).any(1) & (faces == b_).any(1) & (faces == q).any(1))[0]
                if len(other) != 1:
                    continue
                pts = _local_2d(dirs[[p, q, a_, b_]], axis)
                if not _segments_cross(pts[0], pts[1], pts[2], pts[3]):
                    continue
                faces[t] = [p, a_, q]
                faces[other[0]] = [q, b_, p]
                flipped = True
                break
            if not flipped:
                raise RuntimeError(f"skin triangulation: feature-curve edge {p}-{q} could not be recovered")
    return faces


def _segments_cross(p0, p1, q0, q1) -> bool:
    def orient(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    return (orient(p0, p1, q0) * orient(p0, p1, q1) < 0) and (orient(q0, q1, p0) * orient(q0, q1, p1) < 0)


def loop_height(az: np.ndarray) -> np.ndarray:
    """Height of the loop where the radial head surface hands over to the neck band (lower in front,
    under the chin; higher at the nape)."""
    return -1.11 - 0.11 * np.cos(az)


def _loop_elevation(az: np.ndarray, cast: sculpt.SkinCast) -> np.ndarray:
    """Elevation, per azimuth, of the direction whose skin point lies on the loop."""
    y_target = loop_height(az)
    els = np.radians(np.linspace(-84.0, -30.0, 55))
    grid = _from_sph(np.repeat(az, len(els)), np.tile(els, len(az)))
    y = (cast.radius(grid)[:, None] * grid)[:, 1].reshape(len(az), len(els))
    # y rises with elevation: find the first sample above the target
    above = y > y_target[:, None]
    k = np.clip(np.argmax(above, axis=1), 1, len(els) - 1)
    rows = np.arange(len(az))
    y0, y1 = y[rows, k - 1], y[rows, k]
    e0, e1 = els[k - 1], els[k]
    el = e0 + (y_target - y0) / np.where(y1 != y0, y1 - y0, 1e-9) * (e1 - e0)
    for _ in range(3):  # secant refinement
        d = _from_sph(az, el)
        yy = cast.radius(d) * d[:, 1]
        slope = (y1 - y0) / (e1 - e0)
        el = el - (yy - y_target) / np.where(np.abs(slope) > 1e-6, slope, 1e-6)
    return el


def build_skin(n_fib: int = 16000, warp: float = 0.5, relax_iters: int = 3, n_loop: int = 112) -> SkinMesh:
    from scipy.sparse import coo_matrix
    from scipy.spatial import ConvexHull, cKDTree

    a = sculpt.ANATOMY
    cast = sculpt.SkinCast()
    base_step = np.sqrt(4 * np.pi / n_fib)  # angular spacing of the unwarped points

    def local_step(d):
        return base_step * warp_scale(d, FACE_DIRECTION, warp)

    # --- feature curves (directions) ----------------------------------------------------------
    n_lid = 27
    ups, los = eye_margin_points(n_lid)
    eye_curves = []  # per eye: (upper dirs [n], lower dirs [n])
    for up, lo in zip(ups, los, strict=True):
        pair = []
        for curve in (up, lo):  # even 3D spacing along the margin as it lies on the skin
            dd = _normalize(_resample_polyline(curve, 120))
            dense = cast.radius(dd)[:, None] * dd
            pair.append(_normalize(_resample_polyline(dense, n_lid)))
        eye_curves.append(tuple(pair))

    n_mouth = 41
    xm = np.linspace(-a.mouth_half_width, a.mouth_half_width, 200)
    ym = sculpt.mouth_line_y(xm)
    dd = _normalize(np.stack([xm, ym, sculpt.face_depth(xm, ym)], 1))
    mouth_dirs = _normalize(_resample_polyline(cast.radius(dd)[:, None] * dd, n_mouth))

    # loop where the neck band starts: uniform in azimuth
    az_loop = np.linspace(-np.pi, np.pi, n_loop, endpoint=False)
    el_loop = _loop_elevation(az_loop, cast)
    loop_dirs = _from_sph(az_loop, el_loop)

    # seam up the back midline (azimuth pi), from the loop to just below the crown
    seam_el = [el_loop[0]]
    while True:
        d = _from_sph(np.array([np.pi]), np.array([seam_el[-1]]))
        step = local_step(d)[0] * 1.05
        if seam_el[-1] + step > np.pi / 2 - 0.6 * step:
            break
        seam_el.append(seam_el[-1] + step)
    seam_dirs = _from_sph(np.full(len(seam_el), np.pi), np.array(seam_el))
    crown_dir = np.array([[0.0, 1.0, 0.0]])

    # rows parallel to the mouth line and the lid margins give those features clean strips of
    # triangles (they are inserted like curve points but need not become edges)
    rows = []
    xr = np.linspace(-a.mouth_half_width, a.mouth_half_width, n_mouth)[2:-2]
    taper = 0.35 + 0.65 * np.sqrt(np.clip(1.0 - (xr / a.mouth_half_width) ** 4, 0.0, 1.0))
    for off in (0.013, 0.028, -0.013, -0.030):
        yr = sculpt.mouth_line_y(xr) + off * taper
        rows.append(_normalize(np.stack([xr, yr, sculpt.face_depth(xr, yr)], 1)))
    up2, lo2 = sculpt.lid_margin_2d(n_lid)
    for side, c in zip((1.0, -1.0), sculpt.eye_centers(), strict=True):
        for m2, offs in ((up2, (0.011, 0.024)), (lo2, (-0.011, -0.024))):
            inner = m2[3:-3]
            for off in offs:
                ex, ey = inner[:, 0], inner[:, 1] + off
                pts = np.stack([c[0] + side * ex, c[1] + ey, np.full_like(ex, c[2] + 0.12)], 1)
                rows.append(_normalize(pts))
    curves = [c for pair in eye_curves for c in pair] + [mouth_dirs, loop_dirs, seam_dirs, crown_dir] + rows
    row_pts = np.concatenate(rows)
    curve_pts = np.concatenate(curves)
    _, first = np.unique(np.round(curve_pts, 9), axis=0, return_index=True)
    curve_pts = curve_pts[np.sort(first)]

    # --- background points ----------------------------------------------------------------------
    fib = fibonacci_sphere(n_fib)
    # a fixed, platform-independent jitter puts the points in general position, so the Delaunay
    # triangulation (and with it the template topology) does not hinge on rounding
    jitter = np.random.default_rng(360).normal(size=fib.shape) * (0.05 * base_step)
    bg = moebius_warp(_normalize(fib + jitter), FACE_DIRECTION, warp)
    dist, _ = cKDTree(curve_pts).query(bg)
    keep = dist > 0.62 * local_step(bg)
    az_bg, el_bg = _sph(bg)

    def loop_el_at(az):
        return np.interp(az, np.concatenate([az_loop, [np.pi]]), np.concatenate([el_loop, [el_loop[0]]]))

    keep &= el_bg > loop_el_at(az_bg) + 0.3 * local_step(bg)
    eye_polys = []
    for up, lo in eye_curves:
        axis = _normalize(up.mean(0) + lo.mean(0))
        poly = _local_2d(np.concatenate([up, lo[::-1][1:-1]]), axis)
        eye_polys.append((axis, poly))
        keep &= ~(_point_in_polygon(_local_2d(bg, axis), poly) & (bg @ axis > 0.5))
    bg = bg[keep]

    dirs = np.concatenate([curve_pts, bg])
    faces = ConvexHull(dirs).simplices.astype(np.int64)
    cen = dirs[faces].mean(1)
    nrm = np.cross(dirs[faces[:, 1]] - dirs[faces[:, 0]], dirs[faces[:, 2]] - dirs[faces[:, 0]])
    flip = np.einsum("ij,ij->i", nrm, cen) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]

    tree = cKDTree(dirs)

    def ids(c):
        dd_, ii = tree.query(c)
        assert np.all(dd_ < 1e-9)
        return ii

    eye_upper = [ids(u) for u, _ in eye_curves]
    eye_lower = [ids(l_) for _, l_ in eye_curves]
    mouth = ids(mouth_dirs)
    loop = ids(loop_dirs)
    seam = ids(seam_dirs)
    crown = int(ids(crown_dir)[0])
    row_ids = ids(row_pts)
    seam_chain = np.append(seam, crown)
    faces = _recover_edges(faces, dirs, [*eye_upper, *eye_lower, mouth, seam_chain, np.append(loop, loop[0])])

    # --- remove faces below the loop and inside the eye openings -------------------------------
    cen = _normalize(dirs[faces].mean(1))
    az_c, el_c = _sph(cen)
    keep = el_c > loop_el_at(az_c)
    for axis, poly in eye_polys:
        keep &= ~(_point_in_polygon(_local_2d(cen, axis), poly) & (cen @ axis > 0.5))
    faces = faces[keep]

    # --- cut the mouth slit: interior mouth vertices get a copy for the lower lip ----------------
    inner = mouth[1:-1]
    axis = _normalize(mouth_dirs.mean(0))
    m2 = _local_2d(mouth_dirs, axis)
    new_ids = np.arange(len(dirs), len(dirs) + len(inner))
    dirs = np.concatenate([dirs, dirs[inner]])
    lookup = np.arange(len(dirs))
    lookup[inner] = new_ids
    touching = np.nonzero(np.isin(faces, inner).any(1))[0]
    cen2 = _local_2d(_normalize(dirs[faces[touching]].mean(1)), axis)
    below = cen2[:, 1] < np.interp(cen2[:, 0], m2[:, 0], m2[:, 1])
    faces[touching[below]] = lookup[faces[touching[below]]]
    mouth_upper = mouth
    mouth_lower = np.concatenate([[mouth[0]], new_ids, [mouth[-1]]])

    # --- drop unused vertices -------------------------------------------------------------------
    used = np.zeros(len(dirs), bool)
    used[faces.ravel()] = True
    new_index = np.cumsum(used) - 1
    dirs = dirs[used]
    faces = new_index[faces]
    eye_upper = [new_index[e] for e in eye_upper]
    eye_lower = [new_index[e] for e in eye_lower]
    mouth_upper, mouth_lower = new_index[mouth_upper], new_index[mouth_lower]
    loop, seam, crown = new_index[loop], new_index[seam], int(new_index[crown])
    row_ids = new_index[row_ids]

    # --- 3D positions and relaxation (vertices slide along the surface) --------------------------
    verts = cast.radius(dirs)[:, None] * dirs
    fixed = np.zeros(len(dirs), bool)
    for arr in eye_upper + eye_lower + [mouth_upper, mouth_lower, loop, seam, np.array([crown]), row_ids]:
        fixed[arr] = True
    i = faces[:, [0, 1, 2, 1, 2, 0]].T.ravel()
    j = faces[:, [1, 2, 0, 0, 1, 2]].T.ravel()
    adj = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(dirs), len(dirs))).tocsr()
    adj.data[:] = 1.0
    deg = np.asarray(adj.sum(1)).ravel()
    for _ in range(relax_iters):
        avg = (adj @ verts) / deg[:, None]
        nd = _normalize(verts + 0.6 * (avg - verts))
        nd[fixed] = dirs[fixed]
        dirs = nd
        verts = cast.radius(dirs, refine=True)[:, None] * dirs

    # --- the neck band: rows of horizontal rays from the neck axis down to the box bottom -------
    n_rows = 14
    top = verts[loop]
    theta = np.arctan2(top[:, 0], top[:, 2] - sculpt.neck_center_z(top[:, 1]))
    frac = np.arange(1, n_rows + 1) / n_rows
    ys = top[None, :, 1] + (a.neck_bottom_y - top[None, :, 1]) * frac[:, None]  # [rows, n_loop]
    o = np.stack([np.zeros_like(ys), ys, sculpt.neck_center_z(ys)], -1).reshape(-1, 3)
    dn = np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], -1)
    dn = np.broadcast_to(dn[None], (n_rows, n_loop, 3)).reshape(-1, 3)
    band = o + sculpt.skin_radius(dn, o)[:, None] * dn
    band_ids = len(verts) + np.arange(n_rows * n_loop).reshape(n_rows, n_loop)
    rows = np.concatenate([loop[None], band_ids])  # [rows + 1, n_loop]
    # the loop runs with increasing azimuth (toward +x from the front = counter-clockwise from above)
    r0, r1 = rows[:-1], rows[1:]
    c0, c1 = np.arange(n_loop), (np.arange(n_loop) + 1) % n_loop
    q00, q01, q10, q11 = r0[:, c0], r0[:, c1], r1[:, c0], r1[:, c1]
    band_faces = np.concatenate(
        [np.stack([q00, q10, q11], -1).reshape(-1, 3), np.stack([q00, q11, q01], -1).reshape(-1, 3)]
    )
    verts = np.concatenate([verts, band])
    band_dirs = _normalize(band)
    dirs = np.concatenate([dirs, band_dirs])
    faces = np.concatenate([faces, band_faces])
    # orient the band like the rest (outward)
    bf = faces[-len(band_faces) :]
    nrm = np.cross(verts[bf[:, 1]] - verts[bf[:, 0]], verts[bf[:, 2]] - verts[bf[:, 0]])
    out = verts[bf].mean(1) - np.stack(
        [np.zeros(len(bf)), verts[bf].mean(1)[:, 1], sculpt.neck_center_z(verts[bf].mean(1)[:, 1])], 1
    )
    if np.mean(np.einsum("ij,ij->i", nrm, out) < 0) > 0.5:
        faces[-len(band_faces) :] = bf[:, [0, 2, 1]]

    return SkinMesh(
        vertices=verts,
        faces=faces,
        directions=dirs,
        eye_upper=eye_upper,
        eye_lower=eye_lower,
        mouth_upper=mouth_upper,
        mouth_lower=mouth_lower,
        neck_ring=band_ids[-1],
        seam=seam,
        crown=crown,
        band_rows=rows,
    )
