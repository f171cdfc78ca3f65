"""Benchmark of training steps; prints one JSON object with an entry per recipe.

    python bench/bench_train.py --data DIR [--preset demo] [--recipes gan,reconstruction] [--device cpu|cuda]
                                [--steps 10] [--stage 1] [--batch B] [--threads 1] [--bf16]

For each recipe, runs ``--steps`` steps of one stage of the real trainer into a temporary run folder
(after two warm-up steps that are not timed) and reports seconds per step: wall clock (synchronised on
CUDA) and, on the CPU, process CPU seconds (which stay meaningful when other work shares the machine),
and the CPU seconds per 16 images, the figure that compares recipes of different batch sizes. The
recipes run one after the other in one process, so their ratio is measured under the same load. Stages
2 and 3 first train two steps of the stages before them. Figures, never assertions.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import torch

    from head360.train.distributed import init_distributed

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--preset", default="demo")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--stage", type=int, default=1, choices=(1, 2, 3))
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--bf16", action="store_true", default=None)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--recipes", default=None, help="comma-separated recipes to time (default: the preset's)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: measured faster here)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    ctx = init_distributed(args.device)
    recipes = args.recipes.split(",") if args.recipes else [None]
    report = {"preset": args.preset, "stage": args.stage, "torch_threads": torch.get_num_threads(), "recipes": {}}
    for recipe in recipes:
        timings = _time_recipe(args, ctx, recipe)
        report["recipes"][timings["recipe"]] = timings
    print(json.dumps(report, indent=1))
    return 0


def _time_recipe(args, ctx, recipe: str | None) -> dict:
    import torch

    from head360.train.trainer import Trainer, TrainOptions

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        for stage in range(1, args.stage + 1):
            warm = 2
            steps = warm + (args.steps if stage == args.stage else 0)
            opts = TrainOptions(
                data=args.data, out=str(run), preset=args.preset, stage=str(stage), resume=stage > 1, steps=steps,
                batch=args.batch, device=args.device, bf16=args.bf16, workers=args.workers, progress=False,
                recipe=recipe,
            )  # fmt: skip
            trainer = Trainer(opts, ctx)
            trainer.tcfg.sample_every = trainer.tcfg.checkpoint_every = trainer.tcfg.probe_every = 10**9
            trainer.tcfg.tensorboard = False
            if stage == args.stage:
                name = (
                    "_step_refine"
                    if stage == 3
                    else ("_step_reconstruction" if trainer.tcfg.recipe == "reconstruction" else "_step_gan")
                )
                step_fn = getattr(trainer, name)
                marks = []

                def timed(*a, _fn=step_fn, _cuda=trainer.dev.type == "cuda", _marks=marks, **k):
                    out = _fn(*a, **k)
                    if _cuda:
                        torch.cuda.synchronize()
                    _marks.append((time.perf_counter(), time.process_time()))
                    return out

                setattr(trainer, name, timed)
            trainer.train()
        wall = [b[0] - a[0] for a, b in zip(marks[warm - 1 :], marks[warm:], strict=False)]
        cpu = [b[1] - a[1] for a, b in zip(marks[warm - 1 :], marks[warm:], strict=False)]
        cpu_step = sum(cpu) / max(1, len(cpu))
        return {
            "recipe": trainer.tcfg.recipe,
            "device": str(trainer.dev) if trainer.dev.type == "cpu" else torch.cuda.get_device_name(),
            "batch": trainer.tcfg.batch,
            "train_resolution": trainer.resolution,
            "bf16": trainer.tcfg.bf16,
            "timed_steps": len(wall),
            "s_per_step_wall": round(sum(wall) / max(1, len(wall)), 4),
            "s_per_step_median_wall": round(sorted(wall)[len(wall) // 2], 4) if wall else None,
            "cpu_s_per_step": round(cpu_step, 4) if trainer.dev.type == "cpu" else None,
            "cpu_s_per_16_images": round(cpu_step * 16 / trainer.tcfg.batch, 4) if trainer.dev.type == "cpu" else None,
        }


if __name__ == "__main__":
    sys.exit(main())
