"""The camera-view path (head360.model.screen): the perspective rasterizer against a plain reference, the
windowed render against a crop of the whole render, and what a user sees: the mesh's motion in the image."""

from __future__ import annotations

import numpy as np
import torch

from head360.arkit import INDEX
from head360.cameras import Camera
from head360.model.config import config_from_dict, config_to_dict, make_config
from head360.model.generator import Head360Generator
from head360.model.screen import rasterize_camera, vertex_normals
from tests.model.conftest import cameras, codes


def _reference(vertices: np.ndarray, faces: np.ndarray, camera: Camera, size: int):
    """Plain perspective z-buffer (loops over triangles and pixels): face id [S, S] and ray distance."""
    face_id = np.full((size, size), -1)
    best = np.full((size, size), np.inf)
    dist = np.zeros((size, size))
    world2cam = np.linalg.inv(camera.cam2world)
    pc = vertices @ world2cam[:3, :3].T + world2cam[:3, 3]
    px = (camera.focal * pc[:, 0] / pc[:, 2] + camera.cx) * size - 0.5
    py = (camera.focal * pc[:, 1] / pc[:, 2] + camera.cy) * size - 0.5
    for f, (a, b, c) in enumerate(faces):
        xs, ys, zs = px[[a, b, c]], py[[a, b, c]], pc[[a, b, c], 2]
        area = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (xs[2] - xs[0]) * (ys[1] - ys[0])
        if abs(area) < 1e-12:
            continue
        for y in range(max(0, int(np.ceil(ys.min()))), min(size - 1, int(np.floor(ys.max()))) + 1):
            for x in range(max(0, int(np.ceil(xs.min()))), min(size - 1, int(np.floor(xs.max()))) + 1):
                w0 = ((xs[1] - x) * (ys[2] - y) - (xs[2] - x) * (ys[1] - y)) / area
                w1 = ((xs[2] - x) * (ys[0] - y) - (xs[0] - x) * (ys[2] - y)) / area
                w = np.array([w0, w1, 1 - w0 - w1])
                if w.min() < -1e-7:
                    continue
                z = w @ zs
                if z < best[y, x]:
                    best[y, x], face_id[y, x] = z, f
                    dist[y, x] = np.linalg.norm(w @ pc[[a, b, c]])
    return face_id, dist


def test_camera_rasterizer_matches_the_reference(mesh_model):
    v = mesh_model.vertices(torch.zeros(1, 50), torch.zeros(1, 52))
    faces = torch.as_tensor(np.asarray(mesh_model.faces, np.int64))
    uvs = torch.as_tensor(np.asarray(mesh_model.uvs, np.float32))
    faces_uv = torch.as_tensor(np.asarray(mesh_model.faces_uv, np.int64))
    for yaw, pitch in ((0.0, 0.0), (130.0, 20.0)):
        cam = Camera.orbit(yaw, pitch)
        label = torch.tensor([cam.label()], dtype=torch.float32)
        r = rasterize_camera(v, faces, uvs, faces_uv, label, 48)
        ref_id, ref_dist = _reference(v[0].double().numpy(), np.asarray(mesh_model.faces), cam, 48)
        got = r.face_id[0].numpy()
        assert (got >= 0).sum() > 300  # the head fills a good part of the image
        assert np.mean(got == ref_id) > 0.995  # back-face culling and the vectorised z-buffer agree
        both = (got >= 0) & (ref_id >= 0)
        np.testing.assert_allclose(r.distance[0, 0].numpy()[both], ref_dist[both], atol=1e-4)
        n = r.normal[0].numpy()[:, both]
        assert np.allclose(np.linalg.norm(n, axis=0), 1.0, atol=1e-4)
        assert np.mean(n[2] < 0) > 0.95  # visible surfaces face the camera (camera z looks forward)


def test_a_window_renders_the_crop_of_the_whole_image(generator):
    t, s, b = codes(generator, 2)
    cams = cameras(0.0, 60.0)
    H = generator.config.image_resolution
    q = generator.quality("full")
    q = type(q)(**{**q.__dict__, "refine": False})  # the RefineNet sees the whole image (training skips it)
    with torch.no_grad():
        planes = generator.planes(t, s, b, None)
        whole = generator.render(planes, cams, quality=q, skip_empty=False)
        window = torch.tensor([[0, H // 4], [H // 2, 0]])
        part = generator.render(planes, cams, quality=q, skip_empty=False, window=window, window_size=H // 2)
    assert part["rgb"].shape[-1] == H // 2
    ratio = H // whole["raw"].shape[-1]
    for i, (top, left) in enumerate(window.tolist()):
        crop = whole["rgb"][i, :, top : top + H // 2, left : left + H // 2]
        m = 8  # the super-resolution (4x from the neural image) sees other neighbours at the crop's border
        torch.testing.assert_close(part["rgb"][i, :, m:-m, m:-m], crop[:, m:-m, m:-m], atol=2e-3, rtol=0)
        raw = whole["raw"][i, :, top // ratio : (top + H // 2) // ratio, left // ratio : (left + H // 2) // ratio]
        torch.testing.assert_close(part["raw"][i], raw)


def test_the_mesh_motion_reaches_the_image_and_only_the_mesh_is_composited(generator):
    """jawOpen moves the lower face in the image, and the camera-view path changes only the pixels the
    mesh covers: hair, background and whatever the mesh misses stay exactly the volume render's."""
    t, s, b = codes(generator, 1)
    open_ = b.clone()
    open_[0, INDEX["jawOpen"]] = 1.0
    cam = cameras(0.0)
    q = generator.quality("full")
    q_on = type(q)(**{**q.__dict__, "refine": False})
    q_off = type(q)(**{**q.__dict__, "refine": False, "screen": False})
    with torch.no_grad():
        rest, moved = (generator.render(generator.planes(t, s, w, None), cam, quality=q_on)["rgb"] for w in (b, open_))
        planes = generator.planes(t, s, b, None)
        off = generator.render(planes, cam, quality=q_off)["rgb"]
        g = generator
        r = rasterize_camera(planes.vertices, g.faces, g.uvs, g.faces_uv, cam, g.config.image_resolution)
    diff = (moved - rest).abs().sum(1)[0]
    h = diff.shape[0]
    assert diff[h // 2 :].sum() > 3 * diff[: h // 3].sum()  # the chin moves, the top of the head does not
    outside = r.coverage[0, 0] == 0
    assert outside.sum() > 100
    torch.testing.assert_close(rest[0][:, outside], off[0][:, outside])
    assert (rest[0][:, ~outside] - off[0][:, ~outside]).abs().mean() > 1e-3


def test_a_configuration_without_the_path_loads_with_it_off(mesh_model):
    data = config_to_dict(make_config("tiny"))
    assert data["screen"]["enabled"]
    del data["screen"]  # a checkpoint written before the camera-view path existed
    cfg = config_from_dict(data)
    assert not cfg.screen.enabled
    assert Head360Generator(cfg, mesh_model).screen is None
    assert not make_config("paper").screen.enabled  # the paper's layout


def test_vertex_normals_match_a_plain_loop_and_point_outward(mesh_model):
    verts = torch.tensor(np.stack([mesh_model.mean, mesh_model.mean * 1.1]), dtype=torch.float32)  # [2, V, 3]
    faces = torch.as_tensor(np.asarray(mesh_model.faces, np.int64))
    got = vertex_normals(verts, faces)
    for b in range(2):
        v = verts[b].double().numpy()
        ref = np.zeros_like(v)
        for a, bb, c in np.asarray(mesh_model.faces):
            n = np.cross(v[bb] - v[a], v[c] - v[a])
            ref[[a, bb, c]] += n
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
        np.testing.assert_allclose(got[b].numpy(), ref, atol=1e-5)
    centre = verts.mean(dim=1, keepdim=True)
    assert ((got * (verts - centre)).sum(-1) > 0).float().mean() > 0.95  # the stand-in head's normals face out
