"""What a training run tells the outside world: a tqdm progress bar, ``RUN/log.jsonl`` (read by the
studio's training tab), TensorBoard scalars and images under ``RUN/tb/``, and sample grids in
``RUN/samples/``. Only the main process (rank 0) writes; the others get a logger that does nothing.

log.jsonl: one JSON object per line. Logged steps::

    {"step": 120, "stage": 1, "stage_step": 120, "losses": {"l1": 0.31, ...}, "it_s": 3.2,
     "images": 1920, "time": 1764161234.5, "elapsed_s": 37.5}

Events::

    {"event": "stage_started" | "stage_finished" | "checkpoint" | "samples" | "stopped" | "resumed" |
              "losses_used" | "started" | "ranks_in_sync", "step": 120, "stage": 1, "time": ..., ...}
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from head360.fileio import write_image, write_text


def trim_log(path: Path, last_step: int) -> None:
    """Drop entries after ``last_step`` (a resumed run replays those steps), atomically."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
        if int(entry.get("step", 0)) <= last_step:
            kept.append(line)
    write_text(path, "".join(x + "\n" for x in kept))


class RunLogger:
    def __init__(
        self, root: Path, enabled: bool, tensorboard: bool, resume_step: int | None = None, progress: bool = True
    ):
        self.root = Path(root)
        self.enabled = enabled
        self.progress = progress
        self.t0 = time.time()
        self._bar = None
        self._tb = None
        self._file = None
        if not enabled:
            return
        log = self.root / "log.jsonl"
        if resume_step is not None:
            trim_log(log, resume_step)
        self._file = open(log, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.root / "tb"), purge_step=resume_step)
            except ImportError:
                self.event("tensorboard_unavailable", step=resume_step or 0, detail="tensorboard is not installed")

    # --- log.jsonl ----------------------------------------------------------------------------
    def _write(self, entry: dict) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    def event(self, kind: str, step: int, /, **fields) -> None:
        if not self.enabled:
            return
        self._write({"event": kind, "step": int(step), "time": round(time.time(), 3), **fields})
        if self._bar is not None and kind in ("checkpoint", "stage_finished", "stopped"):
            self._bar.write(f"[{kind}] step {step} " + " ".join(f"{k}={v}" for k, v in fields.items()))

    def scalars(self, step: int, stage: int, stage_step: int, losses: dict[str, float], it_s: float, images: int):
        if not self.enabled:
            return
        self._write({
            "step": int(step), "stage": int(stage), "stage_step": int(stage_step),
            "losses": {k: round(float(v), 6) for k, v in losses.items()}, "it_s": round(float(it_s), 4),
            "images": int(images), "time": round(time.time(), 3), "elapsed_s": round(time.time() - self.t0, 2),
        })  # fmt: skip
        if self._tb is not None:
            for k, v in losses.items():
                self._tb.add_scalar(f"stage{stage}/{k}", float(v), step)
            self._tb.add_scalar("speed/it_per_s", float(it_s), step)
        if self._bar is not None:
            shown = {k: f"{v:.3g}" for k, v in list(losses.items())[:5]}
            self._bar.set_postfix(shown, refresh=False)

    def metrics(self, step: int, stage: int, values: dict[str, float], **fields) -> None:
        """Quality measured during training: the event ``metrics`` with ``{"stage", "metrics": {...},
        "elapsed_s", **fields}`` (the Train tab plots the metrics beside the losses)."""
        if not self.enabled:
            return
        rounded = {k: round(float(v), 4) for k, v in values.items()}
        elapsed = round(time.time() - self.t0, 2)
        self.event("metrics", step, stage=int(stage), metrics=rounded, elapsed_s=elapsed, **fields)
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(f"quality/{k}", float(v), step)

    def samples(self, step: int, stage: int, grid: np.ndarray) -> Path | None:
        """Write a sample grid [H, W, 3] uint8 to samples/ (and TensorBoard)."""
        if not self.enabled:
            return None
        folder = self.root / "samples"
        path = folder / f"step-{step:08d}.png"
        write_image(path, grid)
        write_image(folder / "latest.png", grid)
        if self._tb is not None:
            self._tb.add_image(f"samples/stage{stage}", grid, step, dataformats="HWC")
        self.event("samples", step, stage=stage, path=str(path.relative_to(self.root)))
        return path

    # --- progress bar -------------------------------------------------------------------------
    def start_bar(self, stage: int, done: int, total: int, name: str) -> None:
        if not (self.enabled and self.progress):
            return
        from tqdm import tqdm

        self.close_bar()
        self._bar = tqdm(total=total, initial=done, desc=f"stage {stage} ({name})", unit="it", dynamic_ncols=True)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self.close_bar()
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
            self._tb = None
        if self._file is not None:
            self._file.close()
            self._file = None


def image_grid(rows: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Tile equally sized uint8 images [H, W, 3] (rows of columns) with white gaps -> [H', W', 3]."""
    h, w = rows[0][0].shape[:2]
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    grid = np.full((n_rows * h + (n_rows - 1) * gap, n_cols * w + (n_cols - 1) * gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            grid[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = img
    return grid
