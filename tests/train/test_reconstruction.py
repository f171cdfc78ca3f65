"""The CPU training recipe (``recipe="reconstruction"``) and the face-region metrics of ``main.py eval``."""

from __future__ import annotations

import math

import pytest
import torch

from head360.labels import Label
from tests.train.conftest import read_log, run_training


@pytest.fixture(scope="module")
def recon_run(toy_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("recon") / "run"
    run_training(toy_data, run, stage="1", steps=40, recipe="reconstruction")
    return run


def test_reconstruction_steps_lower_the_loss_without_a_discriminator(recon_run):
    log = read_log(recon_run)
    steps = [r for r in log if "losses" in r and "event" not in r]
    first, last = steps[0]["losses"], steps[-1]["losses"]
    assert "d_gan" not in first and "g_gan" not in first  # no discriminator in this recipe
    assert last["l1"] < 0.8 * first["l1"] and last["l1_raw"] < 0.8 * first["l1_raw"]
    assert last["alpha"] < first["alpha"]
    # quality during training: face-region PSNR of held-out views against minutes, for the Train tab
    events = [r for r in log if r.get("event") == "metrics"]
    probes = [r["metrics"] for r in events]
    assert probes and all(math.isfinite(p["face_psnr"]) for p in probes) and "minutes" not in probes[0]
    assert all(r["minutes"] > 0 for r in events)
    assert probes[-1]["face_psnr"] > probes[0]["face_psnr"]


def test_a_dataset_without_depth_trains_without_the_term_and_says_so_once(recon_run):
    log = read_log(recon_run)
    used = [r for r in log if r.get("event") == "losses_used"]
    assert used and "depth" not in used[0]["terms"]
    said = [r for r in log if r.get("event") == "depth_unavailable"]
    assert len(said) == 1 and "synth" in said[0]["message"]
    assert all("depth" not in r.get("losses", {}) for r in log)


def test_density_rises_at_the_mesh_surface(recon_run, toy_data):
    """After a few reconstruction steps the field is denser on the mesh's surface than well outside it."""
    from head360.model.checkpoint import load_checkpoint

    ckpt = load_checkpoint(recon_run / "checkpoint.safetensors")
    g = ckpt.generator
    code = torch.as_tensor(ckpt.subjects[0].texture_code)[None]
    with torch.no_grad():
        planes = g.planes(code, torch.zeros(1, 50), torch.zeros(1, 52), None)
        verts = planes.vertices
        outward = verts + 0.35 * torch.nn.functional.normalize(verts, dim=-1)
        on, off = g.density(planes, verts, hair=False), g.density(planes, outward, hair=False)
    assert on.median() > 3 * off.median()


def test_windows_stay_inside_the_image_and_find_the_face():
    from head360.train.trainer import choose_windows, crop_windows

    labels = torch.zeros(3, 64, 64, dtype=torch.long)
    labels[:, 10:54, 12:50] = int(Label.SKIN)
    labels[:, 40:44, 44:48] = int(Label.EYES)
    torch.manual_seed(0)
    for _ in range(20):
        w = choose_windows(labels, 16, 4, face_fraction=1.0)
        assert w.shape == (3, 2) and (w % 4 == 0).all() and (w >= 0).all() and (w <= 48).all()
        crops = crop_windows(labels[:, None].float(), w, 16)
        assert crops.shape == (3, 1, 16, 16)
        assert ((crops == int(Label.EYES)).flatten(1).any(1)).all()  # every crop shows the eyes
    w = choose_windows(torch.zeros(2, 64, 64, dtype=torch.long), 16, 4, face_fraction=1.0)
    assert (w == 24).all()  # nothing to see: the centre


def test_ray_distance_of_depth_maps():
    from head360.cameras import Camera
    from head360.train.trainer import ray_distance

    cam = Camera.orbit(30.0, 10.0)
    point = torch.tensor([0.3, -0.2, 0.4], dtype=torch.float64).numpy()
    px = cam.project(point[None], 32)[0]  # continuous pixel coordinates
    j, i = int(px[0]), int(px[1])
    z = float(cam.depth_of(point[None])[0])
    depth = torch.zeros(1, 1, 32, 32)
    depth[0, 0, i, j] = z
    label = torch.tensor([cam.label()], dtype=torch.float32)
    dist = ray_distance(depth, label, 32)[0, 0, i, j]
    # the pixel centre's ray differs from the point's by under half a pixel: compare loosely
    assert abs(float(dist) - float(((point - cam.position) ** 2).sum() ** 0.5)) < 0.01


def test_difference_response_and_region_masks():
    from head360.train.evaluate import difference_response, region_masks

    labels = torch.tensor([[[0, 1, 3], [4, 2, 5]]])
    face, eyes_mouth = region_masks(labels)
    assert face[0, 0].tolist() == [[0, 1, 1], [1, 0, 0]]
    assert eyes_mouth[0, 0].tolist() == [[0, 0, 1], [1, 0, 0]]
    truth = torch.randn(3, 8, 8)
    mask = torch.ones(1, 8, 8)
    assert difference_response(truth, truth, mask) == pytest.approx((1.0, 1.0))
    response, corr = difference_response(0.25 * truth, truth, mask)
    assert response == pytest.approx(0.25) and corr == pytest.approx(1.0)
    assert difference_response(torch.zeros_like(truth), truth, mask)[0] == 0.0


def test_eval_reports_face_regions_and_expression_response(recon_run, toy_data):
    import json

    from head360.train.evaluate import evaluate

    report = evaluate(str(recon_run), str(toy_data), max_images=6, fit_steps=2, device="cpu")
    views = report["groups"]["held_out_views"]
    for key in ("face_psnr", "face_ssim", "eyes_mouth_psnr"):
        assert views[key] is not None and math.isfinite(views[key]), key
    assert views["face_psnr"] < views["psnr"] + 10  # the face is not the white background
    # the hair region, per hairstyle worn in the group's images
    index = json.loads((toy_data / "dataset.json").read_text())
    worn = {s["hairstyle"] for s in index["subjects"] if s["id"] in report["groups"]["held_out_views"]["by_subject"]}
    by_style = views["by_hairstyle"]
    assert by_style and set(by_style) <= worn - {"none"}  # (a sample of 6 images may show one style)
    for style, row in by_style.items():
        assert row["images"] > 0 and math.isfinite(row["hair_psnr"]), style
    expr = report["expression_response"]
    trained = expr["trained_expressions"]["jawOpen"]
    assert trained["views"] > 0 and math.isfinite(trained["response"]) and -1 <= trained["correlation"] <= 1
    assert set(expr["held_out_expressions"]) == {"mouthSmileLeft"}
    assert "jawOpen" in expr["held_out_subjects"]


def test_the_checkpoint_says_which_hairstyles_training_saw(recon_run, toy_data):
    """The studio's hair picker offers these: a hairstyle no training image wears renders a bald head."""
    import json

    from head360.model.checkpoint import load_checkpoint

    ckpt = load_checkpoint(recon_run / "checkpoint.safetensors")
    index = json.loads((toy_data / "dataset.json").read_text())
    train = set(ckpt.info["split"]["train_subjects"])
    worn = {s["hairstyle"] for s in index["subjects"] if s["id"] in train} - {"none"}
    assert set(ckpt.trained_hairstyles) == worn and set(ckpt.info["hairstyles_trained"]) == worn
    assert set(ckpt.generator.hairstyles) >= worn
    del ckpt.info["hairstyles_trained"]  # a checkpoint written before training recorded it
    assert set(ckpt.trained_hairstyles) == worn


def test_a_resumed_reconstruction_run_gives_the_weights_of_an_uninterrupted_one(toy_data, tmp_path):
    """Crops are drawn from the run's RNG, which the training state carries: stopping after 6 steps
    and resuming to 12 ends with exactly the weights of 12 steps in one go."""
    from tests.train.conftest import state_tensors

    whole, parts = tmp_path / "whole", tmp_path / "parts"
    run_training(toy_data, whole, steps=12, recipe="reconstruction", checkpoint_every=6)
    run_training(toy_data, parts, steps=6, recipe="reconstruction", checkpoint_every=6)
    run_training(toy_data, parts, steps=12, recipe="reconstruction", checkpoint_every=6, resume=True)
    a, b = state_tensors(whole), state_tensors(parts)
    weights = [k for k in a if k.startswith("model/")]
    assert weights and all(torch.equal(a[k], b[k]) for k in weights)
