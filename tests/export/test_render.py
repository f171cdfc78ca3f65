"""The one render call (head360.export.render.render_view) that `render`, `turntable`, `animate` and the studio
share: every mode, batches of cameras, the mesh modes' cache, and `render --mode mesh` on the bundled model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from head360.cameras import Camera
from head360.errors import Head360Error
from head360.export.render import MeshPreview, render_view
from head360.export.video import turntable_frames
from tests.cli.helpers import assert_one_line_error, run_cli


def test_every_generator_mode_and_a_batch_of_cameras(generator, planes):
    shapes = {"rgb": (40, 40, 3), "raw": (40, 40, 3), "depth": (40, 40), "alpha": (40, 40)}
    for mode, shape in shapes.items():
        image = render_view(generator, planes, Camera.orbit(30.0), mode, resolution=40)
        assert image.dtype == np.uint8 and image.shape == shape, mode
    front, side = (render_view(generator, planes, Camera.orbit(yaw), resolution=32) for yaw in (0.0, 90.0))
    both = render_view(generator, planes, [Camera.orbit(0.0), Camera.orbit(90.0)], resolution=32)
    assert both.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(both[0], front, atol=1)
    np.testing.assert_allclose(both[1], side, atol=1)
    assert np.abs(front.astype(int) - side.astype(int)).mean() > 0.5  # another view, another picture
    with pytest.raises(Head360Error, match="unknown render mode 'normals'"):
        render_view(generator, planes, Camera.orbit(0.0), "normals")


def test_turntable_frames_are_the_views_render_shows(generator, planes):
    frames = list(turntable_frames(generator, planes, frames=4, resolution=32, batch=3))
    quarter = render_view(generator, planes, Camera.orbit(90.0), resolution=32)
    np.testing.assert_allclose(frames[1], quarter, atol=1)


def test_mesh_modes_keep_the_mesh_until_the_head_or_its_settings_change(generator, planes):
    preview = MeshPreview()
    try:
        first = render_view(generator, planes, Camera.orbit(0.0), "mesh", 48, mesh_resolution=16, mesh=preview)
        mesh = preview.mesh
        assert first.shape == (48, 48, 3) and preview.extract_ms > 0 and len(mesh.faces) > 0
        side = render_view(generator, planes, Camera.orbit(90.0), "mesh", 48, mesh_resolution=16, mesh=preview)
        assert preview.mesh is mesh and preview.extract_ms == 0.0  # a camera move reuses the mesh
        assert np.abs(first.astype(int) - side.astype(int)).mean() > 0.5
        colored = render_view(generator, planes, Camera.orbit(90.0), "mesh_color", 48, mesh_resolution=16, mesh=preview)
        assert preview.mesh is mesh and np.abs(colored.astype(int) - side.astype(int)).mean() > 1.0
        render_view(generator, planes, Camera.orbit(90.0), "mesh", 48, hair=False, mesh_resolution=16, mesh=preview)
        assert preview.mesh is not mesh and preview.extract_ms > 0  # hair off: another surface
    finally:
        preview.close()


def _png(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def test_render_mesh_mode_shows_the_shaded_head(tmp_path, capsys):
    """`render --mode mesh` on the bundled model: a grey (clay) head in the middle of a white frame, unlike the
    rgb image of the same view; `mesh_color` paints it with the field's colours."""
    common = ["render", "--yaw", "30", "--resolution", "96"]
    images = {}
    for mode in ("rgb", "mesh", "mesh_color"):
        out = tmp_path / f"{mode}.png"
        extra = ["--quality", "preview"] if mode == "rgb" else ["--mesh-resolution", "64"]
        code, text, err = run_cli(capsys, *common, "--mode", mode, *extra, "--out", out)
        assert code == 0, err
        assert f"(96x96, {mode})" in text
        images[mode] = _png(out)
    clay = images["mesh"]
    head = np.abs(clay - 255).sum(-1) > 30  # not the white background
    assert not head[0].any() and not head[:, 0].any() and not head[:, -1].any()  # the frame's edges: background
    assert head[36:60, 36:60].all()  # the middle is the head
    assert 0.15 < head.mean() < 0.7
    saturation = clay.max(-1) - clay.min(-1)
    assert saturation[head].mean() < 15  # clay: grey shading
    assert clay[head].std() > 5  # shaded, not flat
    assert np.abs(clay - images["rgb"]).mean() > 5
    assert (images["rgb"].max(-1) - images["rgb"].min(-1))[head].mean() > 30  # skin and hair have colour
    assert (images["mesh_color"].max(-1) - images["mesh_color"].min(-1))[head].mean() > 30


@pytest.mark.parametrize(
    "args, message",
    [
        (["--mode", "mesh", "--mesh-resolution", "4"], "mesh resolution must be between 8 and 1024"),
        (["--mode", "mesh", "--iso", "-1"], "--iso must be a positive density"),
    ],
)
def test_render_mesh_settings_are_checked_before_the_model_loads(tmp_path, capsys, args, message):
    missing = tmp_path / "no-such-model.safetensors"
    code, _, err = run_cli(capsys, "render", "--checkpoint", missing, *args, "--out", tmp_path / "x.png")
    assert_one_line_error(code, err, message)
    assert list(tmp_path.iterdir()) == []
