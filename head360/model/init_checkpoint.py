"""Write an untrained checkpoint so that render / turntable / export-mesh / bench and the studio can be
exercised before a trained model exists:

    python -m head360.model.init_checkpoint --preset demo --mesh-model mesh.safetensors --out untrained.safetensors

The subject table holds ``--subjects`` random subjects (texture code ~ N(0, I), shape code ~ N(0, 0.5^2 I),
hairstyles taken in turn, the first without hair) so ``--subject N`` works.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def init_checkpoint(
    preset: str,
    mesh_model_path: str,
    out: str,
    subjects: int = 4,
    seed: int = 0,
    hairstyles: tuple[str, ...] | None = None,
):
    """Build a randomly initialised generator for ``preset`` and save it to ``out``; returns it."""
    import torch

    from head360.mesh.model import MeshModel
    from head360.model.checkpoint import SubjectCodes, save_checkpoint
    from head360.model.config import make_config
    from head360.model.generator import Head360Generator

    config = make_config(preset)
    if hairstyles is None:
        try:  # the data factory's styles, once it is installed; else the config's default list
            from head360.synth.hair import HAIRSTYLES

            hairstyles = tuple(h for h in HAIRSTYLES if h != "none")
        except ImportError:
            hairstyles = None
    if hairstyles:
        config.hair.styles = tuple(hairstyles)
        config.validate()
    mesh = MeshModel.load(mesh_model_path)
    torch.manual_seed(seed)
    generator = Head360Generator(config, mesh)
    rng = np.random.default_rng(seed)
    table = []
    for i in range(subjects):
        style = None if i == 0 else config.hair.styles[(i - 1) % len(config.hair.styles)]
        table.append(
            SubjectCodes(
                name=f"random {i}",
                texture_code=rng.standard_normal(config.texture.code_dim).astype(np.float32),
                shape_code=(0.5 * rng.standard_normal(mesh.shape_dim)).astype(np.float32),
                hairstyle=style,
            )
        )
    save_checkpoint(out, generator, table, info={"trained": False, "preset": preset, "seed": seed})
    return generator


def main(argv: list[str] | None = None) -> int:
    from head360.errors import Head360Error
    from head360.model.config import presets

    p = argparse.ArgumentParser(prog="python -m head360.model.init_checkpoint", description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="demo", choices=presets())
    p.add_argument("--mesh-model", required=True, help="mesh model .safetensors (from `python main.py synth`)")
    p.add_argument("--out", required=True, help="checkpoint to write (.safetensors)")
    p.add_argument("--subjects", type=int, default=4, help="random subjects in the table (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hairstyles", default=None, help="comma-separated hairstyle names (default: the data factory's)")
    args = p.parse_args(argv)
    try:
        styles = tuple(s.strip() for s in args.hairstyles.split(",") if s.strip()) if args.hairstyles else None
        init_checkpoint(args.preset, args.mesh_model, args.out, args.subjects, args.seed, styles)
    except Head360Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote untrained '{args.preset}' checkpoint to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
