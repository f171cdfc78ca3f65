"""Benchmark of training steps; prints one JSON object.

    python bench/bench_train.py --data DIR [--preset demo] [--device cpu|cuda] [--steps 10] [--stage 1]
                                [--batch B] [--bf16]

Runs ``--steps`` steps of one stage of the real trainer into a temporary run folder (after two warm-up
steps that are not timed) and reports seconds per step: wall clock (synchronised on CUDA) and, on the
CPU, process CPU seconds (which stay meaningful when other work shares the machine). Stages 2 and 3
first train two steps of the stages before them. Figures, never assertions.
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
    from head360.train.trainer import Trainer, TrainOptions

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--preset", default="demo")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--stage", type=int, default=1, choices=(1, 2, 3))
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--bf16", action="store_true", default=None)
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args()

    ctx = init_distributed(args.device)
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        for stage in range(1, args.stage + 1):
            warm = 2
            steps = warm + (args.steps if stage == args.stage else 0)
            opts = TrainOptions(
                data=args.data, out=str(run), preset=args.preset, stage=str(stage), resume=stage > 1, steps=steps,
                batch=args.batch, device=args.device, bf16=args.bf16, workers=args.workers, progress=False,
            )  # fmt: skip
            trainer = Trainer(opts, ctx)
            trainer.tcfg.sample_every = trainer.tcfg.checkpoint_every = 10**9
            trainer.tcfg.tensorboard = False
            if stage == args.stage:
                step_fn = trainer._step_refine if stage == 3 else trainer._step_gan
                marks = []

                def timed(*a, _fn=step_fn, _cuda=trainer.dev.type == "cuda", _marks=marks, **k):
                    out = _fn(*a, **k)
                    if _cuda:
                        torch.cuda.synchronize()
                    _marks.append((time.perf_counter(), time.process_time()))
                    return out

                if stage == 3:
                    trainer._step_refine = timed
                else:
                    trainer._step_gan = timed
            trainer.train()
        wall = [b[0] - a[0] for a, b in zip(marks[warm - 1 :], marks[warm:], strict=False)]
        cpu = [b[1] - a[1] for a, b in zip(marks[warm - 1 :], marks[warm:], strict=False)]
        timings = {
            "preset": args.preset,
            "stage": args.stage,
            "device": str(trainer.dev) if trainer.dev.type == "cpu" else torch.cuda.get_device_name(),
            "batch": trainer.tcfg.batch,
            "train_resolution": trainer.resolution,
            "bf16": trainer.tcfg.bf16,
            "timed_steps": len(wall),
            "s_per_step_wall": round(sum(wall) / max(1, len(wall)), 4),
            "s_per_step_median_wall": round(sorted(wall)[len(wall) // 2], 4) if wall else None,
            "cpu_s_per_step": round(sum(cpu) / max(1, len(cpu)), 4) if trainer.dev.type == "cpu" else None,
            "torch_threads": torch.get_num_threads(),
        }
    print(json.dumps(timings, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
