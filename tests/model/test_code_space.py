"""Leading directions of the code spaces and interpolation between heads (the studio's identity panel)."""

from __future__ import annotations

import numpy as np
import pytest

from head360.errors import Head360Error
from head360.model.checkpoint import Subject
from head360.model.code_space import interpolate_head, shape_directions, slerp, texture_directions


def test_texture_directions_are_pca_then_completed():
    rng = np.random.default_rng(0)
    # 30 codes that vary mostly along two axes
    codes = rng.standard_normal((30, 16)) * 0.05
    codes[:, 3] += rng.standard_normal(30) * 4.0
    codes[:, 7] += rng.standard_normal(30) * 2.0
    d = texture_directions(codes, 5)
    assert d.directions.shape == (5, 16)
    np.testing.assert_allclose(d.directions @ d.directions.T, np.eye(5), atol=1e-8)
    assert abs(d.directions[0, 3]) > 0.99 and abs(d.directions[1, 7]) > 0.99  # the leading axes, in order
    assert d.sigma[0] > d.sigma[1] > d.sigma[2]


def test_few_subjects_are_completed_by_the_prior():
    codes = np.random.default_rng(1).standard_normal((3, 32))
    d = texture_directions(codes, 8)
    np.testing.assert_allclose(d.directions @ d.directions.T, np.eye(8), atol=1e-8)
    assert np.count_nonzero(d.sigma != 1.0) == 2  # 3 subjects span 2 directions; 6 more from N(0, I)
    d0 = texture_directions(np.zeros((0, 8)), 4)
    assert d0.count == 4 and np.all(d0.sigma == 1.0)
    with pytest.raises(Head360Error):
        texture_directions(np.zeros(5), 2)


def test_moving_one_slider_changes_only_that_coefficient():
    codes = np.random.default_rng(2).standard_normal((10, 12))
    d = texture_directions(codes, 6)
    code = codes[4]
    before = d.coefficients(code)
    moved = d.with_coefficient(code, 2, 1.25)
    after = d.coefficients(moved)
    assert after[2] == pytest.approx(1.25, abs=1e-5)
    np.testing.assert_allclose(np.delete(after, 2), np.delete(before, 2), atol=1e-5)
    s = shape_directions(50, 10)
    shape = np.zeros(50, np.float32)
    assert s.with_coefficient(shape, 3, -2.0)[3] == pytest.approx(-2.0)


def test_slerp_keeps_the_length_of_gaussian_codes():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(512), rng.standard_normal(512)
    np.testing.assert_allclose(slerp(a, b, 0.0), a, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(slerp(a, b, 1.0), b, rtol=1e-5, atol=1e-5)
    mid = slerp(a, b, 0.5)
    # a straight line would pass through a code ~0.71x as long as a typical one
    assert np.linalg.norm(mid) > 0.95 * min(np.linalg.norm(a), np.linalg.norm(b))


def test_interpolate_head_parts_independently():
    a = Subject(np.ones(8, np.float32), np.zeros(50, np.float32), np.zeros(52, np.float32))
    b = Subject(-np.ones(8, np.float32) * 0.5, np.ones(50, np.float32), np.ones(52, np.float32))
    t, s, w = interpolate_head(a, b, texture_alpha=0.0, shape_alpha=0.25, expression_alpha=1.0)
    np.testing.assert_allclose(t, a.texture_code, atol=1e-6)
    np.testing.assert_allclose(s, 0.25)
    np.testing.assert_allclose(w, 1.0)
    c = Subject(np.ones(4, np.float32), np.zeros(50, np.float32), np.zeros(52, np.float32))
    with pytest.raises(Head360Error):
        interpolate_head(a, c, 0.5, 0.5, 0.5)
