"""The stages between the landmark fit and the inversion: normalisation, segmentation, reference
image, hairstyle choice, fixed-mesh planes, and the landmark table calibration helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from head360.labels import Label

GAN_MODEL = Path(__file__).resolve().parents[2] / "models" / "gan-gpu8-demo2.safetensors"
"""The demo preset trained with the paper's GAN recipe (8 GPU minutes, 2 subjects): a trained discriminator."""


@pytest.fixture(scope="module")
def normalized(astronaut, astronaut_face, face_model):
    from head360.fit.meshfit import MeshFitter
    from head360.fit.normalize import normalize_photo

    fitter = MeshFitter(face_model)
    fit = fitter.fit(astronaut_face.face.xy, astronaut_face.face.image_size)
    pts = fitter.table.points(face_model.vertices_np(fit.shape_code, fit.blend_weights))
    return normalize_photo(astronaut, astronaut_face.face.xy, fit, pts, 128), fit, pts


def test_similarity_recovers_a_known_transform():
    from head360.fit.normalize import similarity_2d

    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (30, 2))
    angle, scale, shift = 0.3, 1.7, np.array([5.0, -12.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = similarity_2d(src, src @ (scale * rot).T + shift)
    assert np.allclose(m[:, :2], scale * rot) and np.allclose(m[:, 2], shift)


def test_normalised_photo_puts_the_face_where_the_model_camera_sees_it(normalized):
    norm, fit, pts = normalized
    assert norm.image.shape == (128, 128, 3) and norm.valid.mean() > 0.9
    model_px = norm.camera.project(pts, 128)
    # the photo's landmarks land on the model camera's projection of the fitted head
    assert np.median(np.linalg.norm(norm.landmarks[: len(model_px)] - model_px, axis=1)) < 1.5
    # the camera is a rig-style orbit camera in front of the face
    assert abs(norm.camera.position[2] - 7.0) < 0.5


def test_segmentation_finds_face_hair_and_background(normalized):
    from head360.fit.landmarks import LEFT_IRIS, NOSE_TIP, RIGHT_IRIS
    from head360.fit.segment import segment_photo

    norm = normalized[0]
    seg = segment_photo(norm.image, norm.landmarks, norm.valid)
    lm = np.round(norm.landmarks - 0.5).astype(int)
    assert seg.labels[lm[NOSE_TIP, 1], lm[NOSE_TIP, 0]] == Label.SKIN
    assert seg.labels[lm[LEFT_IRIS, 1], lm[LEFT_IRIS, 0]] == Label.EYES
    assert seg.labels[lm[RIGHT_IRIS, 1], lm[RIGHT_IRIS, 0]] == Label.EYES
    top = int(lm[:468, 1].min())
    assert seg.hair[:top].mean() > 0.1  # the astronaut's hair above her face
    assert seg.labels[0, 0] == Label.BACKGROUND and seg.labels[0, -1] == Label.BACKGROUND


def test_membrane_interpolates_between_fixed_values():
    from head360.fit.reference import membrane

    h, w = 8, 20
    values = np.zeros((h, w, 1))
    values[:, 0, 0], values[:, -1, 0] = 0.0, 19.0
    fixed = np.zeros((h, w), bool)
    fixed[:, 0] = fixed[:, -1] = True
    out = membrane(values, fixed, np.ones((h, w), bool))
    assert np.allclose(out[3, :, 0], np.arange(20.0), atol=1e-6)  # harmonic in 1D: a straight ramp


def test_reference_keeps_the_photo_face_and_matches_the_skin_tone():
    from head360.fit.reference import make_reference

    r = 96
    yy, xx = np.mgrid[:r, :r]
    face = (xx - 48) ** 2 / 20**2 + (yy - 44) ** 2 / 26**2 < 1
    labels = np.where(face, int(Label.SKIN), int(Label.BACKGROUND)).astype(np.uint8)
    labels[(yy > 70) & (abs(xx - 48) < 10)] = int(Label.NECK)
    photo = np.full((r, r, 3), 250, np.uint8)
    photo[face] = (120, 80, 60)  # a darker skin than the synthetic head's
    head = ((xx - 48) ** 2 / 30**2 + (yy - 48) ** 2 / 40**2 < 1) | ((yy > 60) & (abs(xx - 48) < 14))
    synthetic = np.full((r, r, 3), 255, np.uint8)
    synthetic[head] = (230, 190, 160)
    synthetic[head] -= ((np.sin(xx[head] / 3.0) + 1.0)[:, None] * 6).astype(np.uint8)  # texture to keep
    ref = make_reference(photo, labels, np.ones((r, r), bool), synthetic, head.astype(np.float32),
                         np.zeros((r, r), np.float32), chin_y=70.0)  # fmt: skip
    inner = face & (np.hypot((xx - 48) / 20, (yy - 44) / 26) < 0.85)
    assert np.abs(ref.image[inner].astype(int) - photo[inner]).max() <= 2  # the face is the photo
    outside = head & ~face & (yy < 60)
    tone = ref.synthetic[outside].astype(float).mean(0)
    assert np.abs(tone - (120, 80, 60)).max() < 25  # the synthetic skin took the photo's tone
    assert ref.synthetic[outside].astype(float).std(0).max() > 1.0  # and kept its own variation
    assert ref.weight[face].min() == 1.0 and ref.weight[~head].max() <= 0.5


def test_hairstyle_classifier_and_silhouettes():
    from head360.fit.hairstyle import GRID, PROFILE_BINS, HairstyleClassifier, mask_features, match_silhouettes

    clf = HairstyleClassifier.load()
    assert "none" in clf.styles and len(clf.styles) >= 9
    assert clf.info["held_out_accuracy"] >= 0.8
    r = 64
    hair, person, skin = np.zeros((r, r)), np.zeros((r, r)), np.zeros((r, r))
    person[16:60, 18:46] = 1
    skin[20:56, 20:44] = 1
    feats = mask_features(hair, person, skin)
    assert feats.shape == (3 * GRID * GRID + 1 + 3 * PROFILE_BINS,) == clf.mean.shape
    p = clf.probabilities(feats)
    assert p.shape == (len(clf.styles),) and abs(p.sum() - 1) < 1e-5
    best, _ = clf.predict(feats, allowed=("none", clf.styles[1]))
    assert best in ("none", clf.styles[1])
    big = np.zeros((r, r))
    big[5:60, 5:59] = 1
    small = np.zeros((r, r))
    small[5:20, 15:49] = 1
    name, scores = match_silhouettes(small.copy(), {"long": big, "short": small})
    assert name == "short" and scores["short"] > scores["long"]
    assert match_silhouettes(np.zeros((r, r)), {"long": big})[0] == "none"


def test_fixed_mesh_planes_equal_the_generators(tiny_checkpoint):
    import torch

    from head360.fit.invert import FixedMeshPlanes, texel_visibility
    from head360.model.checkpoint import load_checkpoint

    g = load_checkpoint(tiny_checkpoint).generator
    torch.manual_seed(0)
    t = torch.randn(1, g.config.texture.code_dim)
    s = 0.5 * torch.randn(1, g.mesh.shape_dim)
    b = torch.rand(1, 52) * 0.3
    fixed = FixedMeshPlanes(g, t, s, b, "long")
    with torch.no_grad():
        texture = fixed.initial_texture() + 0.1 * torch.randn(
            1, g.config.texture.channels, *fixed.initial_texture().shape[-2:]
        )
        mine = fixed.planes(texture)
        theirs = g.planes(t, s, b, "long", texture=texture)
    torch.testing.assert_close(mine.head, theirs.head)
    torch.testing.assert_close(mine.hair, theirs.hair)
    vis = texel_visibility(fixed.raster, texture.shape[-1])
    assert 0.0 < float(vis.mean()) < 1.0  # the front sees some texels, not all


def test_closest_point_on_triangles_matches_brute_force():
    from head360.fit.calibrate import closest_on_triangles

    rng = np.random.default_rng(1)
    tri = rng.normal(size=(40, 1, 3, 3))
    pts = rng.normal(size=(40, 3)) * 2
    closest, bary, dist = closest_on_triangles(pts, tri)
    u, v = np.meshgrid(np.linspace(0, 1, 120), np.linspace(0, 1, 120))
    keep = u + v <= 1
    w = np.stack([1 - u[keep] - v[keep], u[keep], v[keep]], 1)  # dense samples of each triangle
    for i in range(40):
        samples = w @ tri[i, 0]
        brute = np.linalg.norm(samples - pts[i], axis=1).min()
        assert dist[i, 0] <= brute + 1e-9 and dist[i, 0] > brute - 0.03
        assert np.all(bary[i, 0] >= -1e-9) and abs(bary[i, 0].sum() - 1) < 1e-9


def test_inversion_moves_the_render_toward_the_reference(tiny_checkpoint):
    import torch

    from head360.cameras import Camera
    from head360.fit.invert import FixedMeshPlanes, InversionConfig, invert
    from head360.model.checkpoint import load_checkpoint

    g = load_checkpoint(tiny_checkpoint).generator
    fixed = FixedMeshPlanes(g, torch.zeros(1, g.config.texture.code_dim), torch.zeros(1, 50), torch.zeros(1, 52), None)
    cam = torch.tensor([Camera.orbit(0, 0).label()], dtype=torch.float32)
    r = g.config.image_resolution
    reference = torch.tensor([0.8, 0.5, 0.3]).view(1, 3, 1, 1).expand(1, 3, r, r).contiguous()  # a skin colour
    before = [p.clone() for p in g.parameters()]
    config = InversionConfig(steps=8, lr=0.3, raw_fraction=1.0, neural_resolution=16, samples=6)
    result = invert(g, fixed, cam, reference, torch.ones(1, 1, r, r), config)
    assert result.losses[-1] < 0.95 * result.losses[0]
    assert all(torch.equal(a, b) for a, b in zip(before, g.parameters(), strict=True))  # the network is frozen
    assert all(p.requires_grad for p in g.parameters())  # and handed back as it was
    assert result.neural_texture.shape == (g.config.texture.channels, g.config.texture.resolution,
                                           g.config.texture.resolution)  # fmt: skip


def test_the_fit_scores_the_image_the_fitted_head_is_shown_with(tiny_checkpoint):
    """The returned texture's full-quality render (super-resolution and RefineNet, what render, the
    studio and the fit's own figures show) has exactly the error the fit reports as its best."""
    import torch

    from head360.cameras import Camera
    from head360.fit.invert import FixedMeshPlanes, InversionConfig, invert
    from head360.model.checkpoint import load_checkpoint

    g = load_checkpoint(tiny_checkpoint).generator.eval()
    full = g.quality("full")
    assert full.super_resolution and full.refine and g.refine is not None
    fixed = FixedMeshPlanes(g, torch.zeros(1, g.config.texture.code_dim), torch.zeros(1, 50), torch.zeros(1, 52), None)
    cam = torch.tensor([Camera.orbit(0, 0).label()], dtype=torch.float32)
    r = g.config.image_resolution
    reference = torch.tensor([0.8, 0.5, 0.3]).view(1, 3, 1, 1).expand(1, 3, r, r).contiguous()
    config = InversionConfig(steps=4, lr=0.3, raw_fraction=0.0, neural_resolution=full.neural_resolution,
                             side_weight=0.0)  # fmt: skip
    result = invert(g, fixed, cam, reference, torch.ones(1, 1, r, r), config)
    with torch.no_grad():
        texture = torch.as_tensor(result.neural_texture)[None]
        shown = g.render(fixed.planes(texture), cam, quality="full", skip_empty=False)["rgb"]
    mse = float(((shown - reference) ** 2).mean())
    assert mse == pytest.approx(min(result.losses), rel=1e-4)


def test_discriminator_from_the_checkpoint_enters_the_loss(tiny_checkpoint, tmp_path):
    import torch

    from head360.cameras import Camera
    from head360.fit.invert import FixedMeshPlanes, InversionConfig, invert, load_discriminator
    from head360.model.checkpoint import load_checkpoint, save_checkpoint
    from head360.model.discriminator import DualDiscriminator

    ckpt = load_checkpoint(tiny_checkpoint)
    g = ckpt.generator
    assert load_discriminator(ckpt) is None  # an untrained checkpoint stores none
    d = DualDiscriminator(g.config.discriminator, g.config.image_resolution)
    path = tmp_path / "with_d.safetensors"
    save_checkpoint(path, g, ckpt.subjects, modules={"discriminator": d})
    ckpt2 = load_checkpoint(path)
    loaded = load_discriminator(ckpt2)
    assert loaded is not None and loaded.resolution == g.config.image_resolution
    g2 = ckpt2.generator
    t0 = torch.zeros(1, g2.config.texture.code_dim)
    fixed = FixedMeshPlanes(g2, t0, torch.zeros(1, 50), torch.zeros(1, 52), None)
    r = g2.config.image_resolution
    cam = torch.tensor([Camera.orbit(0, 0).label()], dtype=torch.float32)
    config = InversionConfig(steps=2, raw_fraction=0.5, neural_resolution=8, samples=4)
    result = invert(g2, fixed, cam, torch.full((1, 3, r, r), 0.5), torch.ones(1, 1, r, r), config, discriminator=loaded)
    assert result.used_discriminator and len(result.losses) == 2
    raw_only = InversionConfig(steps=1, raw_fraction=1.0, neural_resolution=8, samples=4)  # L_D: super-resolved steps
    result = invert(
        g2, fixed, cam, torch.full((1, 3, r, r), 0.5), torch.ones(1, 1, r, r), raw_only, discriminator=loaded
    )
    assert not result.used_discriminator
    assert not any(p.requires_grad for p in loaded.parameters())


def test_hairstyle_choice_keeps_hair_when_the_photo_has_some():
    """A photo with a hairstyle the model never learned gets the closest learned one, never bald."""
    from head360.fit.hairstyle import choose_style

    scores = {"none": 0.3, "bob": 0.5, "shoulder": 0.15, "ponytail": 0.05}
    assert choose_style(scores, ("none", "ponytail", "shoulder")) == "shoulder"
    assert choose_style(scores, ("none", "bob", "shoulder")) == "bob"
    bald = {"none": 0.6, "bob": 0.3, "shoulder": 0.1}
    assert choose_style(bald, ("none", "bob", "shoulder")) is None
    assert choose_style(bald, ("bob", "shoulder")) == "bob"  # the model has no bald heads
    assert choose_style(scores, ("none",)) is None


def test_the_discriminator_term_keeps_the_papers_balance_with_the_image_term():
    """L = MSE + 0.01 L_D with the MSE on [-1, 1] images (EG3D's scale, which the paper builds on). With the
    GAN-trained model of models/ (the previous bundled model: the CPU recipe that trains today's trains no
    discriminator) and its trained discriminator, a short fit toward a head the model renders itself
    (another training subject's texture) must keep at least 40% of the dB gain the image term alone
    reaches: weighing L_D against the 4x smaller MSE of [0, 1] images (as before) kept a fifth of it, this
    balance about half."""
    import torch
    import torch.nn.functional as F

    from head360.cameras import Camera
    from head360.fit.invert import FixedMeshPlanes, InversionConfig, invert, load_discriminator
    from head360.model.checkpoint import load_checkpoint
    from head360.model.config import RenderQuality

    ckpt = load_checkpoint(GAN_MODEL)
    g, d = ckpt.generator.eval(), load_discriminator(ckpt)
    assert d is not None and len(ckpt.subjects) >= 2
    shape = torch.as_tensor(ckpt.subjects[0].shape_code)[None]
    expr = torch.zeros(1, 52)
    start, target = (torch.as_tensor(ckpt.subjects[k].texture_code)[None] for k in (0, 1))
    cam = torch.tensor([Camera.orbit(0, 0).label()], dtype=torch.float32)
    quality = RenderQuality(32, 6, 6, False, False)
    with torch.no_grad():
        raw = g.render(g.planes(target, shape, expr, None), cam, quality=quality, skip_empty=False)["raw"]
    r = g.config.image_resolution
    reference = F.interpolate(raw, size=(r, r), mode="bilinear", align_corners=False)

    def gain_db(weight: float) -> float:
        fixed = FixedMeshPlanes(g, start, shape, expr, None)
        config = InversionConfig(steps=30, raw_fraction=1.0, neural_resolution=32, samples=6, side_weight=0.0,
                                 texture_prior=0.0, discriminator_weight=weight, discriminator_on_raw=True)  # fmt: skip
        losses = invert(g, fixed, cam, reference, torch.ones(1, 1, r, r), config, discriminator=d).losses
        return 10 * float(np.log10(losses[0] / losses[-1]))

    alone, paper = gain_db(0.0), gain_db(InversionConfig().discriminator_weight)
    assert alone > 10.0  # the image term alone gets close to a head the model can render
    assert paper > 0.4 * alone, (paper, alone)
