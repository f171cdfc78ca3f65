import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main as cli

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_render_modes_write_images(tiny_checkpoint, tmp_path, capsys):
    for mode in ("rgb", "raw", "depth", "alpha"):
        out = tmp_path / f"{mode}.png"
        code, _, err = _run(
            capsys, "render", "--checkpoint", tiny_checkpoint, "--subject", "1", "--yaw", "30", "--mode", mode,
            "--blendshape", "jawOpen=0.7", "--resolution", "48", "--out", out,
        )  # fmt: skip
        assert code == 0, err
        img = np.asarray(Image.open(out))
        assert img.shape[:2] == (48, 48)
    a = np.asarray(Image.open(tmp_path / "rgb.png")).astype(int)
    code, _, _ = _run(
        capsys, "render", "--checkpoint", tiny_checkpoint, "--subject", "1", "--yaw", "210", "--no-hair",
        "--resolution", "48", "--out", tmp_path / "back.png",
    )  # fmt: skip
    assert code == 0
    assert np.abs(a - np.asarray(Image.open(tmp_path / "back.png")).astype(int)).mean() > 0.5


def test_export_mesh_and_turntable_commands(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "head.ply"
    code, text, err = _run(
        capsys, "export-mesh", "--checkpoint", tiny_checkpoint, "--out", out, "--resolution", "24",
    )  # fmt: skip
    assert code == 0, err
    assert out.exists() and "faces" in text and "iso" in text  # automatic iso level for a soft field
    video = tmp_path / "turn.gif"
    code, text, err = _run(
        capsys, "turntable", "--checkpoint", tiny_checkpoint, "--out", video, "--frames", "4", "--resolution", "32",
    )  # fmt: skip
    assert code == 0, err
    assert "4 frames" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--blendshape", "jawOpn=0.5"], "unknown blendshape name 'jawOpn'"),
        (["--blendshape", "jawOpen=1.5"], "must be in [0, 1]"),
        (["--blendshape", "jawOpen"], "NAME=WEIGHT"),
        (["--hairstyle", "mohawk"], "unknown hairstyle 'mohawk'"),
        (["--subject", "42"], "subject 42 does not exist"),
        (["--quality", "ultra"], "unknown render quality"),
        (["--device", "tpu"], "--device must be auto, cpu or cuda"),
        (["--hair-color", "blue"], "--hair-color takes #RRGGBB or R,G,B"),
        (["--hair-color", "0.5,2,0"], "--hair-color takes #RRGGBB or R,G,B"),
    ],
)
def test_render_bad_input_is_one_line_and_nonzero(tiny_checkpoint, tmp_path, capsys, args, message):
    out = tmp_path / "x.png"
    code, _, err = _run(capsys, "render", "--checkpoint", tiny_checkpoint, *args, "--out", out)
    assert code != 0
    assert message in err and err.strip().count("\n") == 0
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_hair_color_recolours_the_hair_and_needs_a_model_trained_with_it(tiny_checkpoint, tmp_path, capsys):
    import copy

    import torch

    from head360.model.checkpoint import load_checkpoint, save_checkpoint
    from head360.model.generator import Head360Generator

    ckpt = load_checkpoint(tiny_checkpoint)
    g = ckpt.generator
    with torch.no_grad():
        torch.manual_seed(0)
        g.hair_color.weight.normal_(std=3.0)  # as if trained: the colour moves the hair planes
    save_checkpoint(tmp_path / "colour.safetensors", g, ckpt.subjects, info=ckpt.info)
    renders = {}
    for name, extra in (
        ("own", []),
        ("red", ["--hair-color", "#cc3311"]),
        ("red2", ["--hair-color", "0.8,0.2,0.0667"]),
    ):
        out = tmp_path / f"{name}.png"
        code, _, err = _run(
            capsys, "render", "--checkpoint", tmp_path / "colour.safetensors", "--subject", "1", "--resolution", "48",
            "--out", out, *extra,
        )  # fmt: skip
        assert code == 0, err
        renders[name] = np.asarray(Image.open(out)).astype(int)
    assert np.abs(renders["red"] - renders["own"]).mean() > 0.5
    assert np.abs(renders["red"] - renders["red2"]).max() <= 2  # the same colour written two ways
    cfg = copy.deepcopy(g.config)
    cfg.hair.color = False
    old = Head360Generator(cfg, g.mesh)
    old.load_state_dict({k: v for k, v in g.state_dict().items() if not k.startswith("hair_color")})
    save_checkpoint(tmp_path / "old.safetensors", old, ckpt.subjects, info=ckpt.info)
    out = tmp_path / "refused.png"
    code, _, err = _run(capsys, "render", "--checkpoint", tmp_path / "old.safetensors", "--hair-color", "#cc3311",
                        "--out", out)  # fmt: skip
    assert code != 0 and "trained with hair colour" in err and err.strip().count("\n") == 0
    assert not out.exists()


def test_bad_checkpoint_and_output_paths(tiny_checkpoint, tmp_path, capsys):
    png = tmp_path / "photo.png"
    png.write_bytes(b"not a model")
    cases = [
        (["render", "--checkpoint", tmp_path / "missing.safetensors", "--out", tmp_path / "a.png"], "not found"),
        (["render", "--checkpoint", png, "--out", tmp_path / "a.png"], "not a readable checkpoint"),
        (["render", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "a.bmp"], "must end in"),
        (["render", "--checkpoint", tiny_checkpoint, "--out", "/proc/a.png"], "cannot write"),
        (["export-mesh", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "a.stl"], "must end in"),
        (
            ["export-mesh", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "a.obj", "--iso", "1e9"],
            "never crosses",
        ),
        (["turntable", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "a.mp4", "--frames", "0"], "--frames"),
        (["bench", "--checkpoint", tiny_checkpoint, "--device", "tpu"], "--device"),
    ]
    for argv, message in cases:
        code, _, err = _run(capsys, *argv)
        assert code != 0 and message in err and err.strip().count("\n") == 0, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_command_line_process_exit_code(tiny_checkpoint, tmp_path):
    proc = subprocess.run(
        [sys.executable, "main.py", "render", "--checkpoint", str(tiny_checkpoint), "--blendshape", "smile=1",
         "--out", str(tmp_path / "x.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: unknown blendshape name 'smile'")
    assert proc.stderr.strip().count("\n") == 0


def test_bench_prints_json_figures(tiny_checkpoint, capsys):
    import json

    code, text, err = _run(capsys, "bench", "--checkpoint", tiny_checkpoint, "--frames", "1", "--mesh-resolution", "16")
    assert code == 0, err
    result = json.loads(text)
    for quality in ("full", "preview"):
        assert result[quality]["camera_only_ms"] > 0 and result[quality]["code_change_ms"] > 0
    assert result["mesh_export"]["faces"] > 0
    assert result["parameters"]["generator_total"] > 0
    assert result["paper_parameters"]["generator_total"] > 50_000_000
