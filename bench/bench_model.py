"""Benchmark of the Head360 generator; prints one JSON object.

    python bench/bench_model.py --mesh-model M [--preset demo] [--device cpu] [--frames 10]
    python bench/bench_model.py --checkpoint C            # an existing (trained) checkpoint

Without a checkpoint an untrained one of ``--preset`` is written to a temporary folder first. Untrained
weights fill the whole box with faint density, so the occupancy grid skips little: camera-only figures
are then the worst case. Also prints the parameter counts of every preset (counted on the meta device).
Figures, never assertions: compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    from head360.device import resolve_device
    from head360.model.bench import parameter_counts, run_bench
    from head360.model.checkpoint import load_checkpoint
    from head360.model.config import make_config, presets
    from head360.model.generator import Head360Generator
    from head360.model.init_checkpoint import init_checkpoint

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--mesh-model", default=None)
    p.add_argument("--preset", default="demo")
    p.add_argument("--device", default="cpu")
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--mesh-resolution", type=int, default=256)
    args = p.parse_args()
    if not args.checkpoint and not args.mesh_model:
        p.error("give --checkpoint or --mesh-model")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.checkpoint
        if path is None:
            path = str(Path(tmp) / "untrained.safetensors")
            init_checkpoint(args.preset, args.mesh_model, path)
        ckpt = load_checkpoint(path, device=resolve_device(args.device))
        result = run_bench(ckpt, frames=args.frames, mesh_resolution=args.mesh_resolution, paper=False)
        counts = {}
        for name in presets():
            with torch.device("meta"):
                g = Head360Generator(make_config(name), ckpt.generator.mesh)
            counts[name] = parameter_counts(g)
        result["preset_parameters"] = counts
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
