import numpy as np
import pytest
import torch

from head360.arkit import INDEX
from head360.errors import Head360Error
from head360.model.config import make_config, presets
from head360.model.discriminator import DualDiscriminator
from head360.model.generator import Head360Generator
from head360.model.refine import MultiscaleDiscriminator, RefineNet
from head360.model.screen import vertex_normals
from head360.model.volume import build_occupancy, occupancy_from_density, occupied_interval, ray_box
from tests.model.conftest import cameras, codes


def test_presets_have_the_documented_numbers():
    assert set(presets()) == {"paper", "demo", "tiny"}
    paper = make_config("paper")
    assert (paper.texture.resolution, paper.texture.channels) == (256, 32)
    assert (paper.planes.resolution, paper.plane_channels) == (256, 64)
    assert (paper.decoder.hidden, paper.decoder.features) == (64, 64)
    full = paper.renderer.qualities["full"]
    assert (full.neural_resolution, full.coarse_samples, full.importance_samples) == (64, 48, 48)
    assert paper.image_resolution == 512
    assert make_config("demo").image_resolution == 256
    with pytest.raises(Head360Error):
        make_config("huge")


def test_output_shapes(generator):
    g = generator
    cfg = g.config
    t, s, b = codes(g, batch=2)
    with torch.no_grad():
        planes = g.planes(t, s, b, ["long", None])
        out = g.render(planes, cameras(0, 90))
        prev = g.render(planes, cameras(0, 90), quality="preview")
    p, c = cfg.planes.resolution, cfg.plane_channels
    assert planes.head.shape == (2, 3, c, p, p) and planes.hair.shape == (2, 3, c, p, p)
    assert planes.hairstyles == ("long", None)
    assert torch.equal(planes.hair[1], torch.zeros_like(planes.hair[1]))
    assert planes.raster.face_id.shape == (2, 6, p, p)
    h = cfg.renderer.qualities["full"].neural_resolution
    r = cfg.image_resolution
    assert out["rgb"].shape == (2, 3, r, r)
    assert out["raw"].shape == (2, 3, h, h)
    assert out["depth"].shape == (2, 1, h, h) and out["alpha"].shape == (2, 1, h, h)
    assert out["features"].shape == (2, cfg.decoder.features, h, h)
    hp = cfg.renderer.qualities["preview"].neural_resolution
    assert prev["raw"].shape == (2, 3, hp, hp) and prev["rgb"].shape == (2, 3, r, r)
    assert g.render(planes, cameras(0, 90), resolution=40)["rgb"].shape == (2, 3, 40, 40)
    assert (out["alpha"] >= 0).all() and (out["alpha"] <= 1 + 1e-5).all()
    texture = g.texture_synthesis(g.mapping(t))
    assert texture.shape == (2, cfg.texture.channels, cfg.texture.resolution, cfg.texture.resolution)
    d = DualDiscriminator(cfg.discriminator, r)
    assert d(out["rgb"], out["raw"], cameras(0, 90), b).shape == (2, 1)
    refine = RefineNet(cfg.refine)
    assert refine(out["rgb"]).shape == out["rgb"].shape
    ms = MultiscaleDiscriminator(cfg.refine)(out["rgb"], out["rgb"])
    assert len(ms) == cfg.refine.disc_scales and all(len(f) == cfg.refine.disc_layers + 2 for f in ms)


def test_gradients_reach_codes_blendshapes_and_weights(generator):
    g = generator.train()
    t, s, b = codes(g)
    b[0, INDEX["jawOpen"]] = 0.3
    t, s, b = (x.clone().requires_grad_(True) for x in (t, s, b))
    out = g(t, s, b, cameras(20), hairstyle="long")
    (out["rgb"].square().mean() + out["raw"].mean()).backward()
    for name, x in (("texture code", t), ("shape code", s), ("blend weights", b)):
        assert x.grad is not None and x.grad.abs().sum() > 0, name
    for part in (g.mapping, g.texture_synthesis, g.static_synthesis, g.hair_synthesis, g.decoder, g.superres, g.mouth):
        grads = [p.grad for p in part.parameters()]
        assert all(gr is not None for gr in grads), type(part).__name__
        assert sum(float(gr.abs().sum()) for gr in grads) > 0, type(part).__name__
    assert g.hair_embedding.grad.abs().sum() > 0
    assert g.refine.head[1].weight.grad.abs().sum() > 0  # zero-initialised residual output still learns


def test_untrained_refinenet_is_the_identity(generator):
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(generator.refine(x), x)


def test_camera_change_reuses_planes_and_matches_fresh_planes(generator):
    g = generator
    t, s, b = codes(g)
    calls = []
    hooks = [
        m.register_forward_hook(lambda *a, n=n: calls.append(n))
        for n, m in (("map", g.mapping), ("tex", g.texture_synthesis), ("hair", g.hair_synthesis))
    ]
    with torch.no_grad():
        planes = g.planes(t, s, b, "curly")
        assert calls == ["map", "tex", "hair"]
        calls.clear()
        cached = [g.render(planes, cameras(yaw))["rgb"] for yaw in (0, 40, 0)]
        assert calls == []  # a camera-only change recomputes nothing upstream of the planes
        assert len(planes._occupancy) == 1
        g._hair_cache.clear()
        fresh = g.render(g.planes(t, s, b, "curly"), cameras(0))["rgb"]
    for h in hooks:
        h.remove()
    torch.testing.assert_close(cached[0], fresh)
    torch.testing.assert_close(cached[2], cached[0])
    assert not torch.allclose(cached[0], cached[1])


def test_hair_off_contributes_exactly_nothing(generator):
    g = generator
    t, s, b = codes(g)
    with torch.no_grad():
        planes = g.planes(t, s, b, "long")
        bald = g.render(planes, cameras(30), hair=False)
        with_hair = g.render(planes, cameras(30), hair=True)
        none = g.planes(t, s, b, "none")
        assert none.hair is None
        bald_none = g.render(none, cameras(30))
        g.hair_embedding.add_(1.0)
        for p in g.hair_synthesis.parameters():
            p.add_(torch.randn_like(p))
        perturbed = g.planes(t, s, b, "long")
        bald_perturbed = g.render(perturbed, cameras(30), hair=False)
        hair_perturbed = g.render(perturbed, cameras(30), hair=True)
    assert torch.equal(bald["rgb"], bald_perturbed["rgb"]) and torch.equal(bald["raw"], bald_perturbed["raw"])
    assert torch.equal(bald["rgb"], bald_none["rgb"])
    assert not torch.allclose(bald["raw"], with_hair["raw"])
    assert not torch.allclose(with_hair["raw"], hair_perturbed["raw"])


def test_unknown_hairstyle_and_quality_are_user_errors(generator):
    t, s, b = codes(generator)
    with pytest.raises(Head360Error, match="unknown hairstyle 'mohawk'"):
        generator.planes(t, s, b, "mohawk")
    with torch.no_grad():
        planes = generator.planes(t, s, b, None)
        with pytest.raises(Head360Error, match="unknown render quality"):
            generator.render(planes, cameras(0), quality="ultra")


def test_views_and_expressions_change_the_image(generator):
    g = generator
    t, s, b = codes(g)
    with torch.no_grad():
        planes = g.planes(t, s, b, None)
        front, back = g.render(planes, cameras(0, 180))["raw"]
        b2 = b.clone()
        b2[0, INDEX["jawOpen"]] = 1.0
        open_mouth = g.render(g.planes(t, s, b2, None), cameras(0))["raw"][0]
        other_shape = g.render(g.planes(t, s + 1.0, b, None), cameras(0))["raw"][0]
    assert (front - back).abs().mean() > 1e-3
    assert (front - open_mouth).abs().mean() > 1e-4
    assert (front - other_shape).abs().mean() > 1e-4


def test_skipping_with_everything_occupied_equals_plain_marching(generator):
    g = generator
    g.config.renderer.occupancy_threshold = -1.0  # every cell occupied: same samples as no skipping
    t, s, b = codes(g)
    with torch.no_grad():
        planes = g.planes(t, s, b, "short")
        skipped = g.render(planes, cameras(10, pitch=15), skip_empty=True)
        plain = g.render(planes, cameras(10, pitch=15), skip_empty=False)
    for k in ("raw", "depth", "alpha", "rgb"):
        torch.testing.assert_close(skipped[k], plain[k], atol=1e-5, rtol=1e-4)


def test_occupancy_narrows_rays_to_the_occupied_region():
    def sphere(pts):
        return (pts.norm(dim=-1, keepdim=True) < 0.5).float() * 10.0

    occ = build_occupancy(sphere, 1, 32, 1.6, 0.5, "cpu")
    origins = torch.tensor([[[0.0, 0.0, 7.0], [0.0, 1.2, 7.0]]])
    dirs = torch.tensor([[[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]]])
    t0, t1, hit = ray_box(origins, dirs, 1.6)
    assert hit.all() and abs(float(t0[0, 0]) - 5.4) < 1e-5
    near, far, anyocc = occupied_interval(occ, origins, dirs, t0, t1, 1.6, 64)
    assert anyocc.tolist() == [[True, False]]
    cell = 3.2 / 32
    assert 6.5 - 2.5 * cell <= float(near[0, 0]) <= 6.5 and 7.5 <= float(far[0, 0]) <= 7.5 + 2.5 * cell


def test_sum_merge_and_batch_of_mixed_hair(mesh_model):
    cfg = make_config("tiny")
    cfg.planes.merge = "sum"
    torch.manual_seed(1)
    g = Head360Generator(cfg, mesh_model).eval()
    t, s, b = codes(g, batch=2)
    with torch.no_grad():
        planes = g.planes(t, s, b, ["short", None])
        assert planes.head.shape[2] == cfg.texture.channels
        both = g.render(planes, cameras(0, 0))
        alone = g.render(g.planes(t[1:], s[1:], b[1:], None), cameras(0))
    torch.testing.assert_close(both["raw"][1:], alone["raw"], atol=1e-5, rtol=1e-4)


def test_separable_occupancy_grid_equals_pointwise_density(generator):
    g = generator
    t, s, b = codes(g)
    with torch.no_grad():
        planes = g.planes(t, s, b, "long")
        r = g.config.renderer.occupancy_resolution
        pts = torch.rand(1, 2000, 3) * 3.2 - 1.6
        g.config.renderer.occupancy_threshold = float(g.density(planes, pts).median())
        occ = g.occupancy(planes)
        ref = build_occupancy(lambda p: g.density(planes, p), 1, r, 1.6, g.config.renderer.occupancy_threshold, "cpu")
    assert 0.05 < occ.float().mean() < 0.999
    assert (occ != ref).float().mean() < 1e-3  # equal up to cells within float rounding of the threshold


def test_cuda_style_masked_marching_equals_cpu_compaction(generator):
    g = generator
    t, s, b = codes(g)
    with torch.no_grad():
        planes = g.planes(t, s, b, "long")
        pts = torch.rand(1, 2000, 3) * 3.2 - 1.6
        g.config.renderer.occupancy_threshold = float(g.density(planes, pts).quantile(0.7))
        assert 0.05 < g.occupancy(planes).float().mean() < 0.95  # some rays really are skipped
        g.compact_rays = True
        compact = g.render(planes, cameras(25, 200), skip_empty=True)
        g.compact_rays = False
        masked = g.render(planes, cameras(25, 200), skip_empty=True)
    assert (compact["alpha"] == 0).any()
    for k in ("raw", "depth", "alpha", "rgb"):
        torch.testing.assert_close(compact[k], masked[k], atol=1e-5, rtol=1e-4)


def test_planes_can_be_optimised_directly_for_fitting(generator):
    from head360.model.generator import Planes

    g = generator
    t, s, b = codes(g)
    with torch.no_grad():
        planes = g.planes(t, s, b, "long")
    head = planes.head.clone().requires_grad_(True)
    hair = planes.hair.clone().requires_grad_(True)
    fit = Planes(head=head, hair=hair, style=planes.style, hairstyles=planes.hairstyles)
    out = g.render(fit, cameras(0))  # gradients on: the whole box is sampled, no occupancy grid
    out["rgb"].mean().backward()
    assert head.grad.abs().sum() > 0 and hair.grad.abs().sum() > 0


def test_a_texture_code_change_reuses_the_mesh_raster_and_renders_as_without_the_cache(generator):
    g = generator
    t, s, b = codes(g, batch=1)
    t2 = torch.randn_like(t)
    with torch.no_grad():
        g.planes(t, s, b, "long")
        assert len(g.six_views) == 1
        cached = g.planes(t2, s, b, "long")
        assert len(g.six_views) == 1  # same mesh: rasterized once
        g.six_views.max_bytes = 0  # no cache: rasterized afresh
        fresh = g.planes(t2, s, b, "long")
        torch.testing.assert_close(cached.head, fresh.head, rtol=0, atol=0)
        b2 = b.clone()
        b2[0, INDEX["jawOpen"]] = 1.0
        g.six_views.max_bytes = 1 << 30
        moved = g.planes(t2, s, b2, "long")
        assert len(g.six_views) == 2 and not torch.equal(moved.raster.face_id, fresh.raster.face_id)


def test_a_texture_code_change_reuses_the_vertices_and_normals_and_an_expression_change_does_not(generator):
    g = generator
    t, s, b = codes(g, batch=1)
    with torch.no_grad():
        first = g.planes(t, s, b, "long")
        normals = first.vertex_normals(g.faces)
        second = g.planes(torch.randn_like(t), s, b, "long")
        assert second.vertices is first.vertices and second.vertex_normals(g.faces) is normals
        b2 = b.clone()
        b2[0, INDEX["jawOpen"]] = 1.0
        moved = g.planes(t, s, b2, "long")
        assert moved.vertices is not first.vertices
        torch.testing.assert_close(moved.vertices, g.mesh.vertices(s, b2), rtol=0, atol=0)
        torch.testing.assert_close(moved.vertex_normals(g.faces), vertex_normals(moved.vertices, g.faces))
        rendered = g.render(moved, cameras(0), quality="preview")["rgb"]
        g._last_mesh = None  # as a fresh generator
        again = g.render(g.planes(t, s, b2, "long"), cameras(0), quality="preview")["rgb"]
    torch.testing.assert_close(rendered, again, rtol=0, atol=0)
    with torch.enable_grad():  # training and fitting: nothing kept
        assert g.planes(t, s, b2, "long").vertices is not g.planes(t, s, b2, "long").vertices


def test_occupancy_is_the_thresholded_density_dilated_by_one_cell():
    density = torch.rand(2, 12, 12, 12, generator=torch.Generator().manual_seed(0)) ** 8
    got = occupancy_from_density(density, 0.5)
    above = (density > 0.5).numpy()
    ref = above.copy()
    for b, x, y, z in zip(*above.nonzero(), strict=True):  # plain loop: every neighbour of an occupied cell
        ref[b, max(x - 1, 0) : x + 2, max(y - 1, 0) : y + 2, max(z - 1, 0) : z + 2] = True
    assert 0 < above.sum() < ref.sum() < ref.size
    assert np.array_equal(got.numpy(), ref)


def test_a_quality_can_stop_the_super_resolution_early_and_use_a_coarser_occupancy_grid(generator):
    """The demo preset's preview: the last 2x super-resolution block left out (the smaller image resized to
    the output), and empty space skipped with its own, coarser grid; the full quality's grid is kept."""
    import dataclasses

    import torch.nn.functional as F

    from head360.model.config import RenderQuality

    g = generator
    t, s, b = codes(g)
    base = RenderQuality(16, 8, 8, True, False, False)
    with torch.no_grad():
        planes = g.planes(t, s, b, "long")
        full = g.render(planes, cameras(30), quality=base)
        out = g.render(planes, cameras(30), quality=dataclasses.replace(base, superres_blocks=1))
        half = g.superres(full["raw"], full["features"], planes.style, neural_resolution=16, blocks=1)
        coarse_out = g.render(planes, cameras(30), quality=dataclasses.replace(base, occupancy_resolution=8))
        fine, coarse = g.occupancy(planes), g.occupancy(planes, resolution=8)
    r = g.config.image_resolution
    assert out["rgb"].shape == full["rgb"].shape == (1, 3, r, r) and half.shape[-1] == r // 2
    expected = F.interpolate(half, size=(r, r), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out["rgb"], expected)
    # a coarser grid only widens each ray's occupied interval: the same picture up to the samples' spacing
    assert (coarse_out["raw"] - full["raw"]).abs().mean() < 0.02
    assert coarse.shape == (1, 8, 8, 8) and fine.shape[-1] == g.config.renderer.occupancy_resolution
    assert g.occupancy(planes) is fine and g.occupancy(planes, resolution=8) is coarse  # both kept
    cfg = make_config("tiny")
    cfg.renderer.qualities["preview"] = dataclasses.replace(base, superres_blocks=5)
    with pytest.raises(Head360Error, match="superres_blocks must be 0..2"):
        cfg.validate()
