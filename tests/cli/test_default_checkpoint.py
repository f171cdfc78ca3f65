"""Every command that drives a model takes the bundled demo model when no --checkpoint is given, as the
studio does; without one, the error says so in one line."""

from __future__ import annotations

import numpy as np
from PIL import Image

import head360.assets
from tests.cli.helpers import assert_one_line_error, run_cli


def test_render_uses_the_bundled_model_by_default(tmp_path, capsys):
    out = tmp_path / "x.png"
    code, _, err = run_cli(capsys, "render", "--resolution", "32", "--quality", "preview", "--out", out)
    assert code == 0, err
    assert np.asarray(Image.open(out)).shape == (32, 32, 3)


def test_without_a_bundled_model_the_error_says_what_to_pass(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(head360.assets, "ASSETS_DIR", tmp_path)
    for argv in (["render", "--out", tmp_path / "x.png"], ["bench"], ["export-mesh", "--out", tmp_path / "m.glb"]):
        code, _, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, "no bundled demo model")
        assert "--checkpoint" in err
    assert list(tmp_path.iterdir()) == []
