"""The render worker without a window: latest-wins, planes reused for camera-only changes, hairstyle swaps
that rebuild only the hair planes, every render mode (the shaded mesh through head360.gl in the worker
thread), and errors that come back as results."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from app.render_worker import LoadedModel, RenderRequest, RenderWorker
from head360.cameras import Camera


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    from head360.model.checkpoint import load_checkpoint

    return LoadedModel(load_checkpoint(tiny_checkpoint), str(tiny_checkpoint), 1)


@pytest.fixture(scope="module")
def worker():
    w = RenderWorker(display_size=64)
    yield w
    w.stop()


def _subject(model, index=1):
    from head360.model.checkpoint import resolve_subject

    return resolve_subject(model.checkpoint, index)


def _result(worker, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        r = worker.take_result()
        if r is not None and not worker.busy:
            return r
        time.sleep(0.01)
    raise TimeoutError("no frame")


def test_latest_wins_and_camera_moves_reuse_planes(model, worker):
    s = _subject(model)
    worker.submit(RenderRequest(model, s, True, Camera.orbit(0.0)))
    first = _result(worker)
    assert first.error is None and first.planes_ms > 0 and first.image.shape == (64 * 64 * 4,)
    planes = worker._planes
    rendered0, dropped0 = worker.rendered, worker.dropped
    for i in range(20):
        worker.submit(RenderRequest(model, s, True, Camera.orbit(10.0 * i)))
    last = _result(worker)
    assert last.request.camera.position[0] == pytest.approx(Camera.orbit(190.0).position[0])
    assert worker.rendered - rendered0 <= 3 and worker.dropped - dropped0 >= 17
    assert worker._planes is planes and last.planes_ms == 0.0
    assert np.abs(last.image - first.image).mean() > 1e-3  # another view, another picture


def test_hair_swap_keeps_the_head_planes(model, worker):
    s = _subject(model)
    worker.submit(RenderRequest(model, s, True, Camera.orbit(0.0)))
    _result(worker)
    head = worker._planes.head
    worker.submit(RenderRequest(model, dataclasses.replace(s, hairstyle="curly"), True, Camera.orbit(0.0)))
    r = _result(worker)
    assert r.error is None and worker._planes.head is head and worker._planes.hairstyles == ("curly",)


@pytest.mark.parametrize("mode", ["raw", "depth", "alpha", "mesh", "mesh_color"])
def test_render_modes(model, worker, mode):
    worker.submit(RenderRequest(model, _subject(model), True, Camera.orbit(30.0), mode=mode))
    r = _result(worker)
    assert r.error is None, r.error
    rgba = r.image.reshape(64, 64, 4)
    assert rgba[..., :3].std() > 0.005
    if mode.startswith("mesh"):
        assert "vertices" in r.detail and r.native.shape == (64, 64, 3)


def test_viewport_auto_iso_mesh_is_the_mesh_export_mesh_writes(model, worker, tiny_checkpoint, tmp_path, capsys):
    """The mesh modes' "Auto iso" picks the level `export-mesh` picks: same surface, same vertex count."""
    from head360.export.mesh import load_mesh_counts
    from tests.cli.helpers import run_cli

    worker.submit(RenderRequest(model, _subject(model), True, Camera.orbit(0.0), mode="mesh", mesh_resolution=24))
    r = _result(worker)
    assert r.error is None, r.error
    out = tmp_path / "head.ply"
    code, text, err = run_cli(
        capsys, "export-mesh", "--checkpoint", tiny_checkpoint, "--subject", "1", "--resolution", "24", "--out", out
    )
    assert code == 0, err
    vertices, _, _ = load_mesh_counts(out)
    iso = text.split(" iso ")[1].split()[0]
    assert f"mesh {vertices:,} vertices, grid 24³, iso {iso}" in r.detail


def test_errors_come_back_as_results(model, worker):
    s = dataclasses.replace(_subject(model), hairstyle="mohawk")
    worker.submit(RenderRequest(model, s, True, Camera.orbit(0.0)))
    r = _result(worker)
    assert r.image is None and "unknown hairstyle 'mohawk'" in r.error
    worker.submit(RenderRequest(model, _subject(model), True, Camera.orbit(0.0), quality="ultra"))
    r = _result(worker)
    assert "unknown render quality 'ultra'" in r.error
    worker.submit(RenderRequest(model, _subject(model), True, Camera.orbit(0.0)))
    assert _result(worker).error is None  # still rendering


def test_idle_tasks_wait_for_frames(model, worker):
    order = []
    worker.add_idle_task("t", lambda: order.append("idle"))
    worker.submit(RenderRequest(model, _subject(model), True, Camera.orbit(5.0)))
    _result(worker)
    assert worker.wait_idle(30)
    assert order == ["idle"]
