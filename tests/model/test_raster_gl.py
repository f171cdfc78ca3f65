"""The torch rasterizer against the OpenGL renderer: the front and left rasterizations cover the same
pixels as a (nearly orthographic) GL render along the same axis."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from head360.cameras import HEAD_BOX_HALF, Camera
from head360.model.raster import rasterize_six_views
from tests.model.standin import standin_mesh_model


def _nearly_orthographic(yaw: float, distance: float = 2000.0) -> Camera:
    # the box side fills the image: half extent = distance * 0.5 / focal
    return Camera.orbit(yaw, 0.0, radius=distance, focal=distance * 0.5 / HEAD_BOX_HALF)


@pytest.mark.parametrize("view, yaw, flip_columns", [(0, 0.0, False), (2, 90.0, True)])
def test_coverage_matches_opengl(view, yaw, flip_columns):
    from head360.gl.renderer import MeshRenderer, RenderMesh

    mm = standin_mesh_model(3)
    p = 64
    verts = mm.vertices_np(np.random.default_rng(0).normal(size=50) * 0.5, None)
    verts = verts + np.array([0.25, 0.1, 0.3], np.float32)  # off-centre, so a mirrored image would not match
    raster = rasterize_six_views(
        torch.tensor(verts)[None],
        torch.tensor(mm.faces),
        torch.tensor(mm.uvs),
        torch.tensor(mm.faces_uv),
        p,
    )
    ours = raster.coverage[0, view].numpy() > 0  # row = world -y .. +y, column = a axis
    renderer = MeshRenderer(p, supersample=1)
    renderer.set_scene([RenderMesh(verts, mm.faces, material="plain")])
    gl = renderer.render(_nearly_orthographic(yaw)).alpha > 127  # row 0 = top (+y)
    gl = gl[::-1]
    if flip_columns:  # looking from +x, image right is world -z; our zy plane's columns run along +z
        gl = gl[:, ::-1]
    boundary = ndimage.binary_dilation(ours) & ~ndimage.binary_erosion(ours)
    mismatch = ours != gl
    assert ours.sum() > 0.2 * p * p
    assert (mismatch & ~boundary).sum() == 0  # differences only on the silhouette's one-pixel rim
    assert mismatch.sum() < 0.1 * boundary.sum()
