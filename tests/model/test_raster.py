import numpy as np
import torch

from head360.model.raster import SixViewCache, rasterize_reference, rasterize_six_views
from tests.model.standin import standin_mesh_model


def _mesh(subdivisions=2):
    mm = standin_mesh_model(subdivisions)
    v = torch.tensor(mm.mean)[None]
    return mm, v, torch.tensor(mm.faces), torch.tensor(mm.uvs), torch.tensor(mm.faces_uv)


def test_vectorised_rasterizer_matches_reference():
    mm, v, f, uv, fuv = _mesh(1)
    fast = rasterize_six_views(v, f, uv, fuv, 24)
    ref = rasterize_reference(mm.mean, mm.faces, mm.uvs, mm.faces_uv, 24)
    fid = fast.face_id[0].numpy()
    np.testing.assert_array_equal(fid >= 0, ref["face_id"] >= 0)
    same = fid == ref["face_id"]
    assert same.mean() > 0.99  # ties on shared edges may resolve differently by float rounding
    np.testing.assert_allclose(fast.bary[0].numpy()[same], ref["bary"][same], atol=1e-4)
    np.testing.assert_allclose(fast.uv[0].numpy()[same], ref["uv"][same], atol=1e-4)
    np.testing.assert_allclose(fast.depth[0].numpy(), ref["depth"], atol=1e-4)


def test_views_see_the_near_side_and_opposite_views_align():
    mm, v, f, uv, fuv = _mesh(3)
    r = rasterize_six_views(v, f, uv, fuv, 64)
    coord = r.surface_coordinate()[0]  # world coordinate along each view axis
    front, back = coord[0], coord[1]
    both = torch.isfinite(front) & torch.isfinite(back)
    assert both.sum() > 500
    assert (front[both] > back[both]).all()  # front sees z max, back sees z min, pixel for pixel
    # ellipsoid semi-axes 0.8 (x), 1.1 (y), 0.95 (z): silhouette areas in the three planes
    area = r.coverage[0].sum(dim=(1, 2)) * (3.2 / 64) ** 2
    expected = np.pi * np.array([0.8 * 1.1, 0.8 * 1.1, 0.95 * 1.1, 0.95 * 1.1, 0.8 * 0.95, 0.8 * 0.95])
    np.testing.assert_allclose(area.numpy(), expected, rtol=0.06)
    # the top view's centre pixel sees the crown at y ~ 0.05 + 1.1
    assert abs(float(coord[4, 32, 32]) - 1.15) < 0.02


def test_barycentric_gradients_reach_vertices():
    mm, v, f, uv, fuv = _mesh(2)
    v = v.clone().requires_grad_(True)
    r = rasterize_six_views(v, f, uv, fuv, 32)
    (r.uv * torch.randn_like(r.uv)).sum().backward()
    assert v.grad is not None and v.grad.abs().sum() > 0
    assert torch.isfinite(v.grad).all()


def test_batched_equals_single():
    mm, v, f, uv, fuv = _mesh(2)
    v2 = torch.cat([v, v * 0.9], 0)
    rb = rasterize_six_views(v2, f, uv, fuv, 32)
    r1 = rasterize_six_views(v2[1:], f, uv, fuv, 32)
    torch.testing.assert_close(rb.face_id[1:], r1.face_id)
    torch.testing.assert_close(rb.uv[1:], r1.uv)


def _assert_same_raster(a, b):
    for name in ("face_id", "bary", "uv", "depth", "coverage"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0)


def test_cache_returns_each_mesh_its_own_raster_in_batch_order():
    mm, v, f, uv, fuv = _mesh(2)
    a, b = v, v * 0.9
    cache = SixViewCache()
    first = cache.rasterize(torch.cat([a, b]), f, uv, fuv, 32)
    assert len(cache) == 2
    _assert_same_raster(first, rasterize_six_views(torch.cat([a, b]), f, uv, fuv, 32))
    # reordered, repeated and mixed with a new mesh: each row is still its own mesh's raster
    c = v * 1.05
    again = cache.rasterize(torch.cat([b, c, a, b]), f, uv, fuv, 32)
    _assert_same_raster(again, rasterize_six_views(torch.cat([b, c, a, b]), f, uv, fuv, 32))
    assert len(cache) == 3
    # another resolution is another raster
    assert cache.rasterize(a, f, uv, fuv, 16).face_id.shape[-1] == 16


def test_cache_keeps_to_its_size_and_drops_the_least_recently_used():
    mm, v, f, uv, fuv = _mesh(2)
    one = rasterize_six_views(v, f, uv, fuv, 32).nbytes()
    cache = SixViewCache(max_bytes=2 * one)
    meshes = [v * (1.0 + 0.01 * k) for k in range(3)]
    cache.rasterize(meshes[0], f, uv, fuv, 32)
    cache.rasterize(meshes[1], f, uv, fuv, 32)
    cache.rasterize(meshes[0], f, uv, fuv, 32)  # used again: meshes[1] is now the oldest
    cache.rasterize(meshes[2], f, uv, fuv, 32)
    assert len(cache) == 2
    keys = list(cache._items)
    cached = [cache.rasterize(m, f, uv, fuv, 32) for m in (meshes[0], meshes[2])]
    assert list(cache._items) == keys  # both were still there: nothing was rasterized or evicted
    _assert_same_raster(cached[1], rasterize_six_views(meshes[2], f, uv, fuv, 32))


def test_cache_rasterizes_afresh_when_vertices_need_gradients():
    mm, v, f, uv, fuv = _mesh(2)
    cache = SixViewCache()
    v = v.clone().requires_grad_(True)
    r = cache.rasterize(v, f, uv, fuv, 32)
    assert len(cache) == 0
    r.uv.sum().backward()
    assert v.grad is not None and v.grad.abs().sum() > 0
