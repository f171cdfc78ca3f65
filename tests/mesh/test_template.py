"""The template full head: parts, topology, UV atlas, labels, anchors."""

from __future__ import annotations

import numpy as np
from mesh_helpers import boundary_edges, orientation_conflicts

from head360.labels import Label
from head360.mesh.template import ATLAS_RECTS, Part


def test_size_and_parts(template):
    assert 10_000 <= template.num_vertices <= 30_000
    assert template.vertices.dtype == np.float32 and template.faces.dtype == np.int64
    assert template.uvs.dtype == np.float32 and template.faces_uv.shape == template.faces.shape
    assert template.face_label.shape == (template.num_faces,) and template.face_part.shape == (template.num_faces,)
    for part in Part:
        assert len(template.part_vertices(part)) > 0, part
        assert len(template.part_faces(part)) > 0, part
    assert len(template.teeth) == 28  # 14 per arch, incisors to second molars
    # fits the head box, the neck is cut at its bottom
    v = template.vertices
    assert np.all(np.abs(v) <= 1.6 + 1e-5)
    ring = template.anchors["neck_ring_vertices"]
    assert np.allclose(v[ring, 1], -1.6, atol=2e-3)


def test_proportions(template):
    v = template.vertices[template.part_vertices(Part.SKIN)]
    a = template.anchors
    head = v[v[:, 1] > -0.2]
    breadth = head[:, 0].max() - head[:, 0].min()
    length = v[:, 2].max() - v[:, 2].min()
    assert 1.40 < breadth < 1.62  # 14-16 cm
    assert 0.17 < a["nose_tip"][2] - a["nasion"][2] < 0.30  # nose projects 1.7-3 cm from the nasion
    assert 2.1 < a["head_top"][1] - a["menton"][1] < 2.45  # menton-vertex 21-24.5 cm
    assert 1.9 < length < 2.3  # nose tip to back of the head
    ipd = np.linalg.norm(a["eye_center_left"] - a["eye_center_right"])
    assert abs(ipd - 0.63) < 0.01
    mouth = np.linalg.norm(a["mouth_corner_left"] - a["mouth_corner_right"])
    assert 0.45 < mouth < 0.56


def test_closed_parts_and_one_open_skin(template):
    """Ears, eyeballs, each tooth and the tongue are closed shells; the skin with its lid linings and
    the mouth bag is one consistently oriented surface open only at the neck cut."""
    t = template
    for part in (Part.EAR_LEFT, Part.EAR_RIGHT, Part.EYEBALL_LEFT, Part.EYEBALL_RIGHT, Part.TONGUE):
        f = t.faces[t.part_faces(part)]
        assert len(boundary_edges(f)) == 0, part
        assert orientation_conflicts(f) == 0, part
    for name, first, count in t.teeth:
        sel = np.all((t.faces >= first) & (t.faces < first + count), axis=1)
        assert len(boundary_edges(t.faces[sel])) == 0, name
    surface = np.isin(t.face_part, [Part.SKIN, Part.EYE_SOCKET_LEFT, Part.EYE_SOCKET_RIGHT, Part.MOUTH_BAG])
    f = t.faces[surface]
    assert orientation_conflicts(f) == 0
    open_edges = boundary_edges(f)
    assert len(open_edges) == len(t.anchors["neck_ring_vertices"])
    assert np.allclose(t.vertices[open_edges.ravel(), 1], -1.6, atol=2e-3)


def test_skin_faces_outward(template):
    """The skin's normals point away from the head centre (above the neck) and away from the neck axis."""
    t = template
    f = t.faces[t.part_faces(Part.SKIN)]
    v = t.vertices.astype(np.float64)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    c = v[f].mean(1)
    head = c[:, 1] > -1.0
    out = np.where(head[:, None], c, c * np.array([1.0, 0.0, 1.0]) - np.array([0.0, 0.0, -0.05]))
    facing = np.einsum("ij,ij->i", n, out) > 0
    assert facing.mean() > 0.995


def test_mouth_slit_and_eye_openings(template):
    t, a = template, template.anchors
    up, lo = a["lip_upper_vertices"], a["lip_lower_vertices"]
    assert len(up) == len(lo)
    assert up[0] == lo[0] and up[-1] == lo[-1]  # shared corners
    assert len(set(up[1:-1]) & set(lo[1:-1])) == 0  # separate rows ...
    assert np.allclose(t.vertices[up], t.vertices[lo])  # ... that touch in the neutral pose
    r = float(a["eyeball_radius"])
    for side in ("left", "right"):
        c = a[f"eye_center_{side}"]
        margin = np.concatenate([a[f"lid_upper_{side}_vertices"], a[f"lid_lower_{side}_vertices"]])
        d = np.linalg.norm(t.vertices[margin] - c, axis=1)
        # the lid margins hug the eyeball (1-4 mm off its surface away from the corners)
        assert np.all(d[2:-2] > r + 0.008) and np.median(d) < r + 0.03
    # no skin or lining vertex inside an eyeball
    soft = t.part_vertices(Part.SKIN)
    for side in ("left", "right"):
        d = np.linalg.norm(t.vertices[soft] - a[f"eye_center_{side}"], axis=1)
        assert d.min() > r + 0.001


def test_labels(template):
    t = template
    lab, part = t.face_label, t.face_part
    assert np.all(lab[np.isin(part, [Part.EYEBALL_LEFT, Part.EYEBALL_RIGHT])] == Label.EYES)
    mouth = np.isin(part, [Part.MOUTH_BAG, Part.TEETH_UPPER, Part.TEETH_LOWER, Part.TONGUE])
    assert np.all(lab[mouth] == Label.MOUTH_INTERIOR)
    assert np.all(lab[np.isin(part, [Part.EAR_LEFT, Part.EAR_RIGHT])] == Label.SKIN)
    skin = part == Part.SKIN
    c = t.vertices[t.faces].mean(1)
    assert np.all(lab[skin] != Label.EYES)
    neck = skin & (lab == Label.NECK)
    assert neck.any() and np.all(c[neck, 1] < -0.35)  # nothing above the ear lobes is neck
    under_chin = skin & (c[:, 1] < -1.2) & (c[:, 2] > 0.2)
    assert np.all(lab[under_chin] == Label.NECK)
    face = skin & (np.abs(c[:, 0]) < 0.3) & (c[:, 1] > -0.9) & (c[:, 2] > 0.6)
    assert np.all(lab[face] == Label.SKIN)


def _uv_overlap_pixels(uvs, faces_uv, res=512) -> int:
    """Pixels whose centre lies strictly inside two or more UV triangles."""
    count = np.zeros((res, res), np.int16)
    tri = uvs[faces_uv].astype(np.float64) * res
    for p in tri:
        x0, y0 = np.floor(p.min(0)).astype(int)
        x1, y1 = np.ceil(p.max(0)).astype(int)
        xs, ys = np.meshgrid(np.arange(max(x0, 0), min(x1, res)) + 0.5, np.arange(max(y0, 0), min(y1, res)) + 0.5)
        if xs.size == 0:
            continue
        (ax, ay), (bx, by), (cx, cy) = p
        den = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
        if abs(den) < 1e-12:
            continue
        l1 = ((by - cy) * (xs - cx) + (cx - bx) * (ys - cy)) / den
        l2 = ((cy - ay) * (xs - cx) + (ax - cx) * (ys - cy)) / den
        inside = (l1 > 1e-6) & (l2 > 1e-6) & (1 - l1 - l2 > 1e-6)
        count[ys[inside].astype(int), xs[inside].astype(int)] += 1
    return int((count > 1).sum())


def test_uv_atlas(template):
    t = template
    assert t.uvs.min() >= 0.0 and t.uvs.max() <= 1.0
    assert _uv_overlap_pixels(t.uvs, t.faces_uv) == 0
    # islands stay in their rectangles; the skin above them
    for name, (u0, v0, w, h) in ATLAS_RECTS.items():
        part = Part[name.upper()]
        uv = t.uvs[t.faces_uv[t.part_faces(part)]].reshape(-1, 2)
        assert np.all((uv[:, 0] >= u0 - 1e-6) & (uv[:, 0] <= u0 + w + 1e-6)), name
        assert np.all((uv[:, 1] >= v0 - 1e-6) & (uv[:, 1] <= v0 + h + 1e-6)), name
    skin_uv = t.uvs[t.faces_uv[t.part_faces(Part.SKIN)]].reshape(-1, 2)
    assert skin_uv[:, 1].min() >= 0.22
    # texel density (UV area per surface area): the face gets the most, the skin most of the atlas
    v = t.vertices.astype(np.float64)
    f, fu = t.faces, t.faces_uv
    area3 = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    uv = t.uvs[fu].astype(np.float64)
    area_uv = 0.5 * np.abs(np.cross(uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]))
    c = v[f].mean(1)
    skin = t.face_part == Part.SKIN
    face = skin & (c[:, 2] > 0.3) & (c[:, 1] > -1.0) & (c[:, 1] < 0.6)
    density = {"face": area_uv[face].sum() / area3[face].sum()}
    density["rest of skin"] = area_uv[skin & ~face].sum() / area3[skin & ~face].sum()
    for part in Part:
        if part != Part.SKIN:
            m = t.face_part == part
            density[part.name] = area_uv[m].sum() / area3[m].sum()
    assert density["face"] == max(density.values())
    assert area_uv[skin].sum() > 0.6


def test_anchors(template):
    a = template.anchors
    v = template.vertices
    assert a["scalp_weight"].shape == (template.num_vertices,)
    assert 0.0 <= a["scalp_weight"].min() and a["scalp_weight"].max() <= 1.0
    assert a["scalp_weight"][int(a["crown_vertex"])] == 1.0
    nose = np.argmin(np.linalg.norm(v - a["nose_tip"], axis=1))
    assert a["scalp_weight"][nose] == 0.0
    assert np.all(a["scalp_weight"][template.part_vertices(Part.EAR_LEFT)] == 0.0)
    assert a["hairline"].shape[1] == 3 and a["brow_left"].shape[1] == 3
    assert a["brow_left"][:, 1].min() > a["eye_center_left"][1]  # brows above the eyes
    assert a["eye_center_left"][0] > 0 > a["eye_center_right"][0]  # +x is the subject's left
    assert a["mouth_corner_left"][0] > 0
    assert np.allclose(a["jaw_axis"], [1, 0, 0])
    assert a["chin"][1] < a["mouth_corner_left"][1] < a["nose_tip"][1] < a["eye_center_left"][1]
    assert a["ear_top_left"][1] > a["ear_lobe_left"][1] + 0.5


def test_deterministic_topology(template):
    """A fresh build (no cache) gives the very same mesh."""
    from head360.mesh.template import build_template

    again = build_template.__wrapped__()
    assert again.topology_hash() == template.topology_hash()
    assert np.array_equal(again.vertices, template.vertices)
