"""Hair colour as an input of the hair planes: zero-initialised (a model renders as trained until it
learns), per batch item, cached per colour with a bound, stored in subjects and checkpoints, refused
by models trained without it."""

import json

import numpy as np
import pytest
import torch

from head360.errors import Head360Error
from head360.model.checkpoint import Subject, load_checkpoint, save_checkpoint, subject_planes
from head360.model.config import config_from_dict, config_to_dict, make_config
from head360.model.generator import HAIR_CACHE_SIZE, Head360Generator
from tests.model.conftest import cameras, codes

RED, GREY = (0.8, 0.2, 0.1), (0.5, 0.5, 0.5)


def _learned(g):
    """The generator as if training had given the colour input weight."""
    with torch.no_grad():
        torch.manual_seed(1)
        torch.nn.init.normal_(g.hair_color.weight, std=2.0)
    return g


def test_a_new_colour_input_renders_every_style_as_before_and_then_changes_only_the_hair(generator):
    g = generator
    t, s, b = codes(g)
    with torch.no_grad():
        plain = g.planes(t, s, b, "long")
        red = g.planes(t, s, b, "long", hair_color=torch.tensor(RED))
        assert torch.equal(plain.hair, red.hair)  # zero weight: a warm start renders exactly as before
        _learned(g)
        red = g.planes(t, s, b, "long", hair_color=torch.tensor(RED))
        own = g.planes(t, s, b, "long", hair_color=torch.tensor([-1.0, -1.0, -1.0]))
        bald_red = g.render(red, cameras(30), hair=False)["rgb"]
        bald_plain = g.render(plain, cameras(30), hair=False)["rgb"]
    assert torch.equal(own.hair, plain.hair)  # a negative colour is the style's own (its reference)
    assert not torch.allclose(red.hair, plain.hair)
    assert torch.equal(red.head, plain.head) and torch.equal(bald_red, bald_plain)


def test_each_batch_item_gets_its_own_colour_and_the_reference_is_the_styles_mean(generator):
    g = _learned(generator)
    t, s, b = codes(g, batch=3)
    with torch.no_grad():
        g.hair_color_ref[g.hairstyle_index("long")] = torch.tensor(GREY)
        batch = g.planes(t, s, b, ["long", "long", None], hair_color=torch.tensor([RED, GREY, RED]))
        one_red = g.planes(t[:1], s[:1], b[:1], "long", hair_color=torch.tensor(RED))
        own = g.planes(t[:1], s[:1], b[:1], "long")
    torch.testing.assert_close(batch.hair[0], one_red.hair[0])
    torch.testing.assert_close(batch.hair[1], own.hair[0])  # the reference colour given = no colour given
    assert torch.equal(batch.hair[2], torch.zeros_like(batch.hair[2]))


def test_the_eval_cache_keeps_a_bounded_number_of_colours(generator):
    g = _learned(generator)
    t, s, b = codes(g)
    with torch.no_grad():
        first = g.planes(t, s, b, "long", hair_color=torch.tensor(RED)).hair
        for k in range(HAIR_CACHE_SIZE + 5):
            g.planes(t, s, b, "long", hair_color=torch.tensor([k / 40.0, 0.3, 0.3]))
        assert len(g._hair_cache) == HAIR_CACHE_SIZE
        again = g.planes(t, s, b, "long", hair_color=torch.tensor(RED)).hair
    torch.testing.assert_close(first, again)


def test_bad_colours_and_models_without_the_input_are_user_errors(mesh_model, generator):
    t, s, b = codes(generator)
    with pytest.raises(Head360Error, match="3 finite numbers"):
        generator.planes(t, s, b, "long", hair_color=torch.tensor([0.1, float("nan"), 0.2]))
    with pytest.raises(Head360Error, match="3 finite numbers"):
        generator.planes(t, s, b, "long", hair_color=torch.ones(2, 3))
    cfg = make_config("tiny")
    cfg.hair.color = False
    old = Head360Generator(cfg, mesh_model).eval()
    assert old.hair_color is None and "hair_color_ref" not in old.state_dict()
    with pytest.raises(Head360Error, match="trained without hair colour"):
        old.planes(t, s, b, "long", hair_color=torch.tensor(RED))
    # a configuration written before the input existed loads with it off
    d = config_to_dict(make_config("tiny"))
    del d["hair"]["color"]
    assert config_from_dict(d).hair.color is False


def test_subjects_and_checkpoints_keep_the_hair_colour(generator, tmp_path):
    from head360.model.checkpoint import SubjectCodes

    g = _learned(generator)
    zt = g.config.texture.code_dim
    table = [SubjectCodes("a", np.zeros(zt, np.float32), np.zeros(50, np.float32), "long", RED),
             SubjectCodes("b", np.zeros(zt, np.float32), np.zeros(50, np.float32), "long")]  # fmt: skip
    save_checkpoint(tmp_path / "m.safetensors", g, table)
    ckpt = load_checkpoint(tmp_path / "m.safetensors")
    assert ckpt.subjects[0].hair_color == RED and ckpt.subjects[1].hair_color is None
    torch.testing.assert_close(ckpt.generator.hair_color.weight, g.hair_color.weight)

    subject = Subject(np.zeros(zt, np.float32), np.zeros(50, np.float32), np.zeros(52, np.float32), "long",
                      hair_color=RED)  # fmt: skip
    subject.save(tmp_path / "s.h360")
    loaded = Subject.load(tmp_path / "s.h360")
    assert loaded.hair_color == RED
    with torch.no_grad():
        kept = subject_planes(g, loaded)
        grey = subject_planes(g, loaded, hair_color=GREY)
        direct = g.planes(torch.zeros(1, zt), torch.zeros(1, 50), torch.zeros(1, 52), "long",
                          hair_color=torch.tensor(RED))  # fmt: skip
    torch.testing.assert_close(kept.hair, direct.hair)
    assert not torch.allclose(grey.hair, kept.hair)

    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    with safe_open(str(tmp_path / "s.h360"), "np") as f:
        meta = dict(f.metadata())
    meta["hair_color"] = json.dumps([2.0, 0.0, 0.0])
    save_file(load_file(str(tmp_path / "s.h360")), str(tmp_path / "bad.h360"), metadata=meta)
    with pytest.raises(Head360Error, match="hair colour that is not three numbers in 0..1"):
        Subject.load(tmp_path / "bad.h360")


def test_a_new_reference_colour_remakes_the_cached_hair_planes(generator):
    g = _learned(generator)
    t, s, b = codes(g)
    with torch.no_grad():
        red_before = g.planes(t, s, b, "long", hair_color=torch.tensor(RED)).hair.clone()
        own = g.planes(t, s, b, "long").hair.clone()
        g.hair_color_ref[g.hairstyle_index("long")] = torch.tensor(RED)  # what a training run sets
        red_after = g.planes(t, s, b, "long", hair_color=torch.tensor(RED)).hair
    torch.testing.assert_close(red_after, own)  # red is now the style's own colour: not the stale planes
    assert not torch.allclose(red_before, red_after)
