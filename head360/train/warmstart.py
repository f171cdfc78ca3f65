"""Starting a training run from a trained model's weights (``main.py train --init CHECKPOINT``).

A warm start fine-tunes a model -- the bundled demo model, or one of the user's own -- on another
dataset instead of training from random weights. What carries over:

* every generator weight (the networks of the texture, the planes, the decoder, the super-resolution and
  the RefineNet) into both the trained model and its EMA;
* the hairstyle embeddings by name: a hairstyle both the checkpoint and the dataset know keeps its
  embedding, a hairstyle new to the model starts from a random one;
* the texture code of each training subject that the checkpoint's subject table also holds (same name
  and the same shape code, so the same person), the others start from N(0, I) as in a fresh run;
* the hair-colour input: a checkpoint without one gives a run with it a zero colour weight, so the
  model first renders exactly as the checkpoint did;
* the dual discriminator, when the checkpoint stores one trained at the same resolution.

The RefineNet's discriminator is not stored in checkpoints and starts fresh. The checkpoint must be of the
same preset as the run (the same network sizes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from head360.errors import Head360Error

SHAPE_MATCH_TOLERANCE = 1e-3
"""Largest difference between two shape codes (of 50) that still counts as the same subject (checkpoints
and datasets store them rounded differently)."""


def _sizes(config) -> dict:
    """The parts of a generator configuration that decide the weights' shapes (all but the hairstyles and
    the hair-colour input, which a warm start adds at zero: the model renders as before)."""
    from head360.model.config import config_to_dict

    d = config_to_dict(config)
    d.pop("name", None)
    d["hair"] = {k: v for k, v in d["hair"].items() if k not in ("styles", "color")}
    return d


def warm_start(
    path: str | Path,
    preset: str,
    model: torch.nn.Module,
    ema: torch.nn.Module,
    discriminator: torch.nn.Module | None,
    discriminator_resolution: int,
    train_subjects: list[str],
    shape_codes: dict[str, np.ndarray],
) -> dict:
    """Copy a checkpoint's weights into a fresh run's ``model`` and ``ema`` (TexturedGenerator) and
    ``discriminator``. ``train_subjects``: the run's code-table rows in order; ``shape_codes``: subject id
    -> shape code [50]. Returns what was carried over (recorded in run.json and the log)."""
    from head360.model.checkpoint import load_checkpoint

    path = Path(path)
    ckpt = load_checkpoint(path)
    gen = model.generator
    if _sizes(ckpt.config) != _sizes(gen.config):
        theirs = ckpt.info.get("preset") or ckpt.config.name
        raise Head360Error(
            f"--init '{path}' is a '{theirs}' model and this run trains the '{preset}' preset; pass a checkpoint "
            f"of the '{preset}' preset, or --preset {theirs}"
        )
    state = ckpt.generator.state_dict()
    own_styles, their_styles = list(gen.hairstyles), list(ckpt.generator.hairstyles)
    kept_styles = [s for s in own_styles if s in their_styles]
    embedding = gen.hair_embedding.detach().clone()
    for s in kept_styles:
        embedding[own_styles.index(s)] = state["hair_embedding"][their_styles.index(s)]
    state["hair_embedding"] = embedding
    own_state = gen.state_dict()
    color = "off" if "hair_color_ref" not in own_state else "new"
    for key in ("hair_color.weight", "hair_color_ref"):
        if key in own_state and key not in state:  # a checkpoint without the colour input: it starts at zero
            state[key] = own_state[key]
    if "hair_color_ref" in own_state and "hair_color_ref" in ckpt.generator.state_dict():
        ref = own_state["hair_color_ref"].clone()
        for s in kept_styles:
            ref[own_styles.index(s)] = state["hair_color_ref"][their_styles.index(s)]
        state["hair_color_ref"] = ref
        color = "kept"
    elif "hair_color_ref" in state and "hair_color_ref" not in own_state:
        del state["hair_color_ref"], state["hair_color.weight"]  # a colour model into a run without it

    rows = {s.name: s for s in ckpt.subjects}
    codes = model.texture_codes.weight.detach().clone()
    matched = []
    for i, sid in enumerate(train_subjects):
        s = rows.get(sid)
        if s is None or sid not in shape_codes:
            continue
        if np.abs(np.asarray(s.shape_code, np.float32) - np.asarray(shape_codes[sid], np.float32)).max() > (
            SHAPE_MATCH_TOLERANCE
        ):
            continue
        codes[i] = torch.from_numpy(np.asarray(s.texture_code, np.float32))
        matched.append(sid)
    with torch.no_grad():
        for target in (model, ema):
            target.generator.load_state_dict(state)
            target.texture_codes.weight.copy_(codes)

    d_loaded = False
    d_state = ckpt.modules.get("discriminator")
    if discriminator is not None and d_state is not None:
        own = discriminator.state_dict()
        same = set(own) == set(d_state) and all(own[k].shape == d_state[k].shape for k in own)
        if same and int(ckpt.info.get("discriminator_resolution", -1)) == discriminator_resolution:
            discriminator.load_state_dict(d_state)
            d_loaded = True
    return {
        "checkpoint": str(path),
        "checkpoint_step": ckpt.info.get("step"),
        "texture_codes_kept": matched,
        "texture_codes_new": [s for s in train_subjects if s not in matched],
        "hairstyles_kept": kept_styles,
        "hairstyles_new": [s for s in own_styles if s not in kept_styles],
        "discriminator": "kept" if d_loaded else "fresh",
        "hair_color": color,
    }
