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
