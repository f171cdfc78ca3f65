"""Ambient occlusion and UV-space rasterization on meshes with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gl_test_meshes import icosphere, open_box

from head360.errors import Head360Error


def test_ambient_occlusion_is_open_on_a_sphere_and_dark_in_a_cup(gl_context):
    from head360.gl.bake import ambient_occlusion

    v, f = icosphere(4)
    sphere_ao = ambient_occlusion(v, f, context=gl_context)
    assert sphere_ao.shape == (len(v),) and sphere_ao.dtype == np.float32
    assert sphere_ao.min() > 0.97  # a convex surface sees its whole hemisphere

    bv, bf, floor_centre = open_box(8)
    box_ao = ambient_occlusion(bv, bf, context=gl_context)
    # the floor's centre sees the sky only through the open top: the view factor from a point to a parallel
    # 2x2 square 2 units above it is four quarters of (1 / 2pi) * 2 x atan(x), x = A / sqrt(1 + A^2), A = 1/2
    a = 0.5  # a quarter of the opening: 1 unit wide, 2 units up
    x = a / math.sqrt(1 + a * a)
    quarter = (x * math.atan(x) * 2) / (2 * math.pi)
    assert box_ao[floor_centre] == pytest.approx(4 * quarter, abs=0.05)
    assert box_ao[floor_centre] < sphere_ao.mean() - 0.5


def test_occluders_darken_without_getting_values(gl_context):
    from head360.gl.bake import ambient_occlusion

    v, f = icosphere(3)
    alone = ambient_occlusion(v, f, context=gl_context)
    # a big sphere shell around the small one hides its whole sky (an occluder's winding does not matter)
    shell_v, shell_f = icosphere(3, radius=3.0)
    enclosed = ambient_occlusion(v, f, occluders=[(shell_v, shell_f)], context=gl_context)
    assert alone.mean() > 0.97 and enclosed.max() < 0.05


def test_rasterize_uv_of_a_known_quad(gl_context):
    from head360.gl.bake import rasterize_uv

    # a square island covering the middle of the texture; per-uv attribute = the corner's 3D position
    uvs = np.array([[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]], dtype=np.float32)
    faces_uv = np.array([[0, 1, 2], [0, 2, 3]])
    position = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
    size = 32
    values, coverage = rasterize_uv(uvs, faces_uv, position, size, context=gl_context)
    assert values.shape == (size, size, 3) and coverage.shape == (size, size)
    # exactly the texels whose centres lie inside [0.25, 0.75]^2
    centres = (np.arange(size) + 0.5) / size
    inside = (centres > 0.25) & (centres < 0.75)
    np.testing.assert_array_equal(coverage, inside[:, None] & inside[None, :])
    # row 0 is the top of the texture (v = 1): texel (r, c) has u = centres[c], v = 1 - centres[r]
    rows, cols = np.nonzero(coverage)
    u, v = centres[cols], 1.0 - centres[rows]
    expected = np.stack([(u - 0.25) / 0.5, (v - 0.25) / 0.5, np.zeros_like(u)], axis=1)
    np.testing.assert_allclose(values[rows, cols], expected, atol=1e-5)
    assert (values[~coverage] == 0).all()


def test_rasterize_uv_per_corner_many_channels_and_dilation(gl_context):
    from head360.gl.bake import rasterize_uv

    uvs = np.array([[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]], dtype=np.float32)
    faces_uv = np.array([[0, 1, 2], [0, 2, 3]])
    # per-corner part ids (constant per triangle) in 6 channels: more than one RGBA pass
    corner = np.zeros((2, 3, 6), dtype=np.float32)
    corner[0, :, :] = np.arange(1, 7)
    corner[1, :, :] = -np.arange(1, 7)
    size = 32
    values, coverage = rasterize_uv(uvs, faces_uv, corner, size, dilate=3, context=gl_context)
    assert values.shape == (size, size, 6)
    # triangle 0 is below the diagonal (u > v): lower right of the image; triangle 1 upper left
    np.testing.assert_allclose(values[20, 22], np.arange(1, 7))
    np.testing.assert_allclose(values[11, 9], -np.arange(1, 7))
    # dilation: 3 texels past the island's edge hold the edge's values, 5 texels away stays empty
    assert not coverage[7, 16] and np.allclose(values[7, 16], -np.arange(1, 7))  # 1 row above the top edge
    assert not coverage[16, 26] and np.allclose(values[16, 26], np.arange(1, 7))  # 2 columns right
    assert (values[2, 16] == 0).all() and (values[16, 30] == 0).all()


def test_bake_inputs_are_checked(gl_context):
    from head360.gl.bake import ambient_occlusion, rasterize_uv

    with pytest.raises(Head360Error):
        rasterize_uv(np.zeros((4, 2)), np.array([[0, 1, 5]]), np.zeros((4, 3)), 16, context=gl_context)
    with pytest.raises(Head360Error):
        rasterize_uv(np.zeros((4, 2)), np.array([[0, 1, 2]]), np.zeros((7, 3)), 16, context=gl_context)
    with pytest.raises(Head360Error):
        ambient_occlusion(np.zeros((3, 3)), np.array([[0, 1, 3]]), context=gl_context)
