import json

import numpy as np
import pytest
import torch

from head360.errors import Head360Error
from head360.model.checkpoint import (
    Subject,
    load_checkpoint,
    resolve_subject,
    save_checkpoint,
    subject_planes,
)
from tests.model.conftest import cameras


def test_checkpoint_round_trip_renders_the_same(tiny_checkpoint, tmp_path):
    ckpt = load_checkpoint(tiny_checkpoint)
    assert len(ckpt.subjects) == 3 and ckpt.subjects[0].hairstyle is None and ckpt.subjects[1].hairstyle
    assert ckpt.info["trained"] is False
    again_path = tmp_path / "again.safetensors"
    save_checkpoint(again_path, ckpt.generator, ckpt.subjects, info={"step": 7})
    again = load_checkpoint(again_path)
    np.testing.assert_array_equal(again.generator.mesh.faces, ckpt.generator.mesh.faces)
    np.testing.assert_array_equal(again.generator.mesh.expr_basis, ckpt.generator.mesh.expr_basis)
    with torch.no_grad():
        renders = []
        for c in (ckpt, again):
            subject = resolve_subject(c, 1)
            renders.append(c.generator.render(subject_planes(c.generator, subject), cameras(45))["rgb"])
    assert torch.equal(renders[0], renders[1])
    assert again.info == {"step": 7}


def test_missing_corrupt_and_foreign_files_raise_one_clear_error(tiny_checkpoint, tmp_path):
    with pytest.raises(Head360Error, match="not found"):
        load_checkpoint(tmp_path / "nothing.safetensors")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(tiny_checkpoint.read_bytes()[:5000])
    with pytest.raises(Head360Error, match="not a readable checkpoint"):
        load_checkpoint(broken)
    png = tmp_path / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(Head360Error, match="not a readable checkpoint"):
        load_checkpoint(png)
    mesh_file = tiny_checkpoint.parent / "mesh.safetensors"  # a safetensors file, but a mesh model
    with pytest.raises(Head360Error, match="not a Head360 checkpoint"):
        load_checkpoint(mesh_file)
    with pytest.raises(Head360Error, match="is not a file"):
        load_checkpoint(tmp_path)


def test_checkpoint_from_another_model_version_is_refused(tiny_checkpoint, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(tiny_checkpoint), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    config = json.loads(meta["config"])
    config["decoder"]["hidden"] = 24  # weights were made for 16
    meta["config"] = json.dumps(config)
    other = tmp_path / "other.safetensors"
    save_file(tensors, str(other), metadata=meta)
    with pytest.raises(Head360Error, match="does not match this version"):
        load_checkpoint(other)
    config["decoder"] = {"hidden": 16}  # a field missing
    meta["config"] = json.dumps(config)
    save_file(tensors, str(other), metadata=meta)
    with pytest.raises(Head360Error, match="does not match this version"):
        load_checkpoint(other)


def test_subject_files_and_subject_indices(tiny_checkpoint, tmp_path):
    ckpt = load_checkpoint(tiny_checkpoint)
    g = ckpt.generator
    with pytest.raises(Head360Error, match="subject 9 does not exist"):
        resolve_subject(ckpt, "9")
    with pytest.raises(Head360Error, match="subject index or a .h360 file"):
        resolve_subject(ckpt, "face.png")
    subject = resolve_subject(ckpt, 2)
    subject.blend_weights[17] = 0.5
    with torch.no_grad():
        planes = subject_planes(g, subject)
        ref = g.render(planes, cameras(15))["rgb"]
        # an optimised-texture subject that stores exactly the synthesised texture renders the same
        t = torch.as_tensor(subject.texture_code)[None]
        subject.neural_texture = g.texture_synthesis(g.mapping(t))[0].numpy()
    path = tmp_path / "head.h360"
    subject.source = "test"
    subject.save(path)
    loaded = resolve_subject(ckpt, str(path))
    assert loaded.hairstyle == subject.hairstyle and loaded.source == "test"
    with torch.no_grad():
        out = g.render(subject_planes(g, loaded), cameras(15))["rgb"]
        torch.testing.assert_close(out, ref)
        # stored planes: used as they are, and they pin the expression
        loaded.head_planes = planes.head[0].numpy()
        loaded.neural_texture = None
        pinned = g.render(subject_planes(g, loaded), cameras(15))["rgb"]
        torch.testing.assert_close(pinned, ref)
        with pytest.raises(Head360Error, match="cannot be changed"):
            subject_planes(g, loaded, blend_weights=np.zeros(52, np.float32))
    wrong = Subject(np.zeros(5, np.float32), np.zeros(50, np.float32), np.zeros(52, np.float32))
    wrong.save(tmp_path / "wrong.h360")
    with pytest.raises(Head360Error, match="do not fit this checkpoint"):
        resolve_subject(ckpt, str(tmp_path / "wrong.h360"))
    with pytest.raises(Head360Error, match="not a readable subject file|not a Head360 subject file"):
        Subject.load(tiny_checkpoint)


def _rewrite(src, dst, edit):
    """Copy the safetensors file ``src`` to ``dst`` with ``edit(tensors)`` applied, keeping its metadata."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    edit(tensors)
    save_file(tensors, str(dst), metadata=meta)
    return dst


def _poison(tensors, name, value):
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = value


def _keys(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return list(f.keys())


def test_checkpoint_or_subject_file_holding_nan_or_inf_is_refused(tiny_checkpoint, tmp_path):
    weight = next(k for k in _keys(tiny_checkpoint) if k.startswith("generator/"))
    bad = _rewrite(tiny_checkpoint, tmp_path / "bad.safetensors", lambda t: _poison(t, weight, float("nan")))
    with pytest.raises(Head360Error) as e:
        load_checkpoint(bad)
    message = str(e.value)
    assert message == (
        f"checkpoint '{bad}' holds NaN or infinite numbers in '{weight}'; pass a checkpoint written by "
        "`python -m head360.model.init_checkpoint` or by training"
    )
    codes = tmp_path / "codes.safetensors"
    _rewrite(tiny_checkpoint, codes, lambda t: _poison(t, "subjects/shape_codes", -np.inf))
    with pytest.raises(Head360Error, match="NaN or infinite numbers in 'subjects/shape_codes'"):
        load_checkpoint(codes)
    subject = Subject(np.zeros(8, np.float32), np.zeros(50, np.float32), np.zeros(52, np.float32))
    subject.shape_code[3] = np.inf
    subject.save(tmp_path / "inf.h360")
    with pytest.raises(Head360Error, match=r"subject file '.*inf\.h360' holds NaN or infinite numbers in 'shape_code'"):
        Subject.load(tmp_path / "inf.h360")


def test_render_with_a_nan_checkpoint_is_one_line_and_writes_nothing(tiny_checkpoint, tmp_path, capsys):
    import main as cli

    weight = next(k for k in _keys(tiny_checkpoint) if k.startswith("generator/"))
    bad = _rewrite(tiny_checkpoint, tmp_path / "bad.safetensors", lambda t: _poison(t, weight, float("inf")))
    out = tmp_path / "x.png"
    code = cli.main(["render", "--checkpoint", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert "NaN or infinite numbers" in lines[0] and str(bad) in lines[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.safetensors"]


@pytest.mark.parametrize("value", [1.5, -0.25])
def test_subject_file_with_blendshape_weights_outside_0_1_is_refused(tmp_path, value):
    from head360.arkit import index_of

    weights = np.zeros(52, np.float32)
    weights[index_of("jawOpen")] = value
    path = tmp_path / "odd.h360"
    Subject(np.zeros(8, np.float32), np.zeros(50, np.float32), weights).save(path)
    with pytest.raises(Head360Error) as e:
        Subject.load(path)
    message = str(e.value)
    assert "\n" not in message and f"'{path}'" in message
    assert f"blendshape weight for jawOpen must be in [0, 1], got {value:g}" in message
    weights[index_of("jawOpen")] = 1.0  # the ends of the range are fine
    Subject(np.zeros(8, np.float32), np.zeros(50, np.float32), weights).save(path)
    assert Subject.load(path).blend_weights[index_of("jawOpen")] == 1.0


def test_damaged_mesh_inside_a_checkpoint_is_reported_under_the_checkpoint_name(tiny_checkpoint, tmp_path):
    def truncate(tensors):
        tensors["mesh/file"] = tensors["mesh/file"][: len(tensors["mesh/file"]) // 2].clone()

    def wrong_format(tensors):
        data = tensors["mesh/file"].numpy().tobytes().replace(b"head360-mesh-model", b"head360-mush-model", 1)
        tensors["mesh/file"] = torch.from_numpy(np.frombuffer(data, np.uint8).copy())

    for edit, expected in ((truncate, "not a readable mesh model"), (wrong_format, "not a Head360 mesh model")):
        bad = _rewrite(tiny_checkpoint, tmp_path / "damaged.safetensors", edit)
        with pytest.raises(Head360Error) as e:
            load_checkpoint(bad)
        message = str(e.value)
        assert message.startswith(f"the mesh model inside checkpoint '{bad}' ") and expected in message
        rest = message.replace(str(bad), "")
        assert "/tmp" not in rest and "mesh.safetensors" not in rest and "\n" not in message
