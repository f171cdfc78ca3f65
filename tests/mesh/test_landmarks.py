"""The landmark table against mediapipe's face mesh run on a real frontal photo."""

from __future__ import annotations

import numpy as np
import pytest

from head360.mesh.landmarks import EXTRA_LANDMARKS, LANDMARKS_68


def test_table_is_well_formed(template):
    lm = template.landmarks
    assert len(lm) == 68 + len(EXTRA_LANDMARKS)
    assert [x.name for x in lm[:68]] == [n for n, _ in LANDMARKS_68]
    mp = [x.mediapipe for x in lm]
    assert len(set(mp)) == len(mp) and all(0 <= i < 468 for i in mp)
    assert len(set(template.landmark_vertices().tolist())) == len(lm)  # distinct vertices
    assert template.landmark_table()[0] == {"name": lm[0].name, "vertex": lm[0].vertex, "mediapipe": 127}
    v = template.vertices[template.landmark_vertices()]
    by = {x.name: p for x, p in zip(lm, v, strict=True)}
    # subject's right is -x: mediapipe 33 is the right eye's outer corner
    assert by["eye_right_outer_corner"][0] < by["eye_right_inner_corner"][0] < 0 < by["eye_left_inner_corner"][0]
    assert by["jaw_08_chin"][1] < by["lip_lower_outer_mid"][1] < by["lip_upper_outer_mid"][1] < by["nose_tip"][1]


def _umeyama(src, dst):
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    u, sig, vt = np.linalg.svd(d0.T @ s0 / len(src))
    d = np.eye(3)
    if np.linalg.det(u @ vt) < 0:
        d[2, 2] = -1
    r = u @ d @ vt
    scale = np.trace(np.diag(sig) @ d) / s0.var(0).sum()
    return scale, r, md - scale * r @ ms


def test_matches_mediapipe_on_a_real_face(template):
    """Run mediapipe's face mesh on skimage's astronaut (a real frontal portrait), align its 3D
    landmarks to ours by a similarity transform and compare point by point. She smiles with her
    mouth open, so the lips are left out of the comparison."""
    mp = pytest.importorskip("mediapipe")
    from skimage import data

    img = data.astronaut()
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        res = fm.process(img)
    assert res.multi_face_landmarks, "mediapipe found no face in the astronaut photo"
    h, w = img.shape[:2]
    pts = np.array([[p.x * w, -p.y * h, -p.z * w] for p in res.multi_face_landmarks[0].landmark])
    names = [x.name for x in template.landmarks]
    idx = np.array([x.mediapipe for x in template.landmarks])
    ours = template.vertices[template.landmark_vertices()].astype(np.float64)
    keep = np.array([not n.startswith(("lip", "mouth")) for n in names])
    scale, r, t = _umeyama(pts[idx[keep]], ours[keep])
    aligned = (scale * (r @ pts.T)).T + t
    err = np.linalg.norm(aligned[idx[keep]] - ours[keep], axis=1) * 100  # mm
    assert err.mean() < 7.0, err.mean()
    assert np.percentile(err, 90) < 12.0
    # a wrong table would not fit: shuffling the correspondence makes the error several times larger
    shuffled = np.random.default_rng(0).permutation(idx[keep])
    s2, r2, t2 = _umeyama(pts[shuffled], ours[keep])
    bad = np.linalg.norm((s2 * (r2 @ pts[shuffled].T)).T + t2 - ours[keep], axis=1).mean() * 100
    assert bad > 3 * err.mean()
