"""The training loop: three stages, checkpoints, resume, time limits, signals, distributed.

One step of stages 1 and 2 (EG3D-style, phases merged where that saves a forward pass):

1. Generator phase: render the batch (each image with its subject's texture code, shape code,
   blendshape weights, camera and hairstyle; bald images with the head planes alone; a share of the
   batch with random or interpolated codes), then
   ``L_G = softplus(-D(fake)) + 100 |fake - real|_1 + 100 |raw - real_small|_1
   (+ density TV every few steps) (+ code prior in stage 1)``.
2. Discriminator phase on the same (detached) fakes:
   ``L_D = softplus(D(fake)) + softplus(-D(real)) (+ gamma/2 * R1 * interval every r1_interval steps)``.
3. EMA of the generator (and codes).

Choice where the paper is silent: the discriminator phase reuses the fakes of the generator phase
(rendered before the generator's update) instead of rendering new ones, which saves a third of the
compute; the blur fade-in of EG3D is left out (the L1 pairs dominate early training here).

Stage 3 trains the RefineNet on the frozen generator's super-resolved images: pix2pixHD LSGAN with the
multi-scale discriminator conditioned on the input, feature matching, ``1 - SSIM`` (LPIPS only when its
weights exist locally; the log's ``losses_used`` event says which ran).
"""

from __future__ import annotations

import copy
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from head360.errors import Head360Error
from head360.train.config import (
    STAGE_NAMES,
    make_train_config,
    stage_step_budgets,
    train_config_from_dict,
    train_config_to_dict,
)
from head360.train.data import (
    DatasetInfo,
    DataSplit,
    ShardedBatchSampler,
    check_dataset_fits,
    choose_split,
    inspect_dataset,
    make_loader,
    stage_dataset,
    training_resolution,
)
from head360.train.distributed import DistContext, init_distributed, parameters_digest
from head360.train.losses import (
    discriminator_gan_loss,
    feature_matching_loss,
    generator_gan_loss,
    lsgan_loss,
    ssim,
    to_signed,
)
from head360.train.modules import (
    CodeMix,
    DualDiscriminatorStep,
    MultiscaleDiscriminatorStep,
    TexturedGenerator,
    set_stage_trainable,
    stage1_parameters,
    update_ema,
)
from head360.train.progress import RunLogger, image_grid
from head360.train.state import (
    RunDir,
    flatten_optimizer,
    load_state_file,
    prefixed,
    save_state_file,
    unflatten_optimizer,
    unprefixed,
)


@dataclass
class TrainOptions:
    """What ``main.py train`` passes in (None = the preset's value)."""

    data: str
    out: str
    preset: str = "demo"
    stage: str = "all"
    """'1', '2', '3' or 'all'."""
    resume: bool = False
    steps: int | None = None
    batch: int | None = None
    max_minutes: float | None = None
    device: str = "auto"
    seed: int = 0
    bf16: bool | None = None
    workers: int | None = None
    checkpoint_every: int | None = None
    recipe: str | None = None
    """'gan' or 'reconstruction' (None: the preset's, :attr:`TrainConfig.recipe`)."""
    init: str | None = None
    """A checkpoint whose weights a new run starts from (:mod:`head360.train.warmstart`); a resumed run
    continues from its own state and ignores it."""
    progress: bool = True
    started_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the command started (the time limit counts from there)."""


@dataclass
class TrainResult:
    step: int
    stage: int
    stopped: str
    """'done', 'time limit', 'signal'."""
    checkpoint: Path | None
    trainer: Trainer | None = None


def lpips_loss_fn(device):
    """An LPIPS module when the ``lpips`` package and its backbone weights exist locally, else None
    (nothing is ever downloaded)."""
    try:
        import lpips  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError:
        return None
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if not any(hub.glob("alexnet-*.pth")):
        return None
    try:
        import lpips

        return lpips.LPIPS(net="alex", verbose=False).to(device).eval().requires_grad_(False)
    except Exception:  # a partial installation: treat as unavailable
        return None


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < x.shape[-1])


class Trainer:
    def __init__(self, opts: TrainOptions, ctx: DistContext):
        from head360.model.config import config_from_dict, config_to_dict, make_config
        from head360.model.generator import Head360Generator

        self.opts, self.ctx, self.dev = opts, ctx, ctx.device
        self.run = RunDir(opts.out)
        if opts.stage not in ("1", "2", "3", "all"):
            raise Head360Error(f"--stage must be 1, 2, 3 or all, got '{opts.stage}'")

        # --- what exists already ----------------------------------------------------------------
        state_tensors, state = None, None
        if opts.resume:
            if not self.run.has_checkpoint():
                raise Head360Error(f"'{self.run.root}' has no checkpoint to resume; start without --resume")
            latest = self.run.latest()
            state_tensors, state = load_state_file(latest["dir"] / "state.safetensors")
            if state["preset"] != opts.preset:
                raise Head360Error(
                    f"'{self.run.root}' was trained with preset '{state['preset']}', not '{opts.preset}': resume it "
                    f"with --preset {state['preset']} or start a new run with another --out"
                )
        elif self.run.has_checkpoint():
            raise Head360Error(
                f"'{self.run.root}' already holds a training run; continue it with --resume or choose another --out"
            )
        elif opts.stage in ("2", "3"):
            raise Head360Error(
                f"stage {opts.stage} continues a trained run: pass --resume with the --out of a stage-1 run "
                "(or train --stage 1 / all first)"
            )

        # --- configurations -----------------------------------------------------------------------
        if state is not None:
            tcfg = train_config_from_dict(state["train_config"])
            if opts.batch is not None and opts.batch != tcfg.batch:
                raise Head360Error(f"this run trains with --batch {tcfg.batch}; resume it with that batch size")
            changes = {k: v for k, v in self._overrides().items() if k != "batch" and v is not None}
            tcfg = replace(tcfg, **changes).validate()
            gcfg = config_from_dict(state["generator_config"])
        else:
            tcfg = make_train_config(opts.preset, **self._overrides())
            gcfg = make_config(opts.preset)
        if tcfg.batch % ctx.world:
            raise Head360Error(f"--batch {tcfg.batch} does not split evenly over {ctx.world} processes")
        self.tcfg, self.gcfg = tcfg, gcfg
        self.local_batch = tcfg.batch // ctx.world

        # --- data ----------------------------------------------------------------------------------
        info = inspect_dataset(opts.data)
        if state is None:
            styles = tuple(h for h in info.hairstyles if h != "none")
            if styles:
                gcfg.hair.styles = styles
            gcfg.validate()
            split = choose_split(info.subject_ids, info.expressions, info.views, tcfg, info.online)
        else:
            split = DataSplit.from_json(state["split"])
            if [s["id"] for s in state["data"]["subjects"]] != info.subject_ids:
                raise Head360Error(
                    f"'{opts.data}' is not the dataset this run was trained on (its subjects differ); resume with "
                    f"--data {state['data']['spec']}"
                )
        check_dataset_fits(info, split)
        self.info, self.split = info, split
        self.info_has_depth = _dataset_has_depth(info)
        self.seeded_detail: list[str] = []
        self.resolution = training_resolution(
            info, gcfg.image_resolution, gcfg.renderer.qualities["full"].neural_resolution, opts.preset
        )
        self.neural_resolution = gcfg.renderer.qualities["full"].neural_resolution
        self.train_quality = replace(gcfg.renderer.qualities["full"], refine=False)

        # --- networks ------------------------------------------------------------------------------
        from head360.model.discriminator import DualDiscriminator
        from head360.model.refine import MultiscaleDiscriminator

        mesh = self._mesh_model(state)
        torch.manual_seed(opts.seed)  # identical initial weights on every rank
        generator = Head360Generator(gcfg, mesh)
        if state is None and generator.screen is not None:
            self.seeded_detail = _seed_detail_texture(generator, info, split.train_subjects)
        self.num_codes = len(split.train_subjects)
        self.model = TexturedGenerator(generator, self.num_codes).to(self.dev)
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.D = DualDiscriminator(gcfg.discriminator, self.resolution).to(self.dev)
        self.refine_D = MultiscaleDiscriminator(gcfg.refine).to(self.dev) if generator.refine is not None else None
        rows = {sid: i for i, sid in enumerate(split.train_subjects)}
        self.row_of = torch.tensor([rows.get(sid, -1) for sid in info.subject_ids], dtype=torch.long)
        self.shape_codes = torch.tensor(np.array([s["shape"] for s in info.subjects], np.float32))
        self.init_report: dict | None = None
        if state is None and opts.init:
            from head360.train.warmstart import warm_start

            shapes = {s["id"]: np.asarray(s["shape"], np.float32) for s in info.subjects}
            self.init_report = warm_start(
                opts.init, opts.preset, self.model, self.ema, self.D, self.resolution, split.train_subjects, shapes
            )
        if state is None and (self.init_report or {}).get("hair_color") != "kept":
            _set_hair_color_refs(self.model, self.ema, info.hair_colors)
        g_weights, codes, detail = stage1_parameters(self.model)
        b = tcfg.betas
        # fused Adam on CUDA (one kernel for all parameters); the state dict is the same either way
        fused = {"fused": True} if self.dev.type == "cuda" else {}
        groups = [{"params": g_weights, "lr": tcfg.g_lr}, {"params": codes, "lr": tcfg.code_lr}]
        if detail:
            groups.append({"params": detail, "lr": tcfg.texture_lr})
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "G": torch.optim.Adam(groups, betas=b, **fused),
            "hair": torch.optim.Adam(generator.hair_parameters(), lr=tcfg.g_lr, betas=b, **fused),
            "D": torch.optim.Adam(self.D.parameters(), lr=tcfg.d_lr, betas=b, **fused),
        }
        if generator.refine is not None:
            rb, lr = tcfg.refine_betas, tcfg.refine_lr
            self.optimizers["refine"] = torch.optim.Adam(generator.refine.parameters(), lr=lr, betas=rb, **fused)
            self.optimizers["refine_D"] = torch.optim.Adam(self.refine_D.parameters(), lr=lr, betas=rb, **fused)

        # --- progress counters ---------------------------------------------------------------------
        self.step = 0
        self.stage = 1
        self.completed: list[int] = []
        self.stage_done = {1: 0, 2: 0, 3: 0}
        self.stage_images = {1: 0, 2: 0, 3: 0}
        self.positions: dict[int, tuple[int, int]] = {}
        self.resumed_from: int | None = None
        if state is not None:
            self._load_state(state_tensors, state)
        else:
            torch.manual_seed(opts.seed * 1000 + 17 + ctx.rank)  # per-rank randomness from here on
        self.run_config = {
            "preset": opts.preset,
            "data": info.to_json(),
            "split": split.to_json(),
            "train_config": train_config_to_dict(tcfg),
            "generator_config": config_to_dict(gcfg),
            "train_resolution": self.resolution,
            "world_size": ctx.world,
            "seed": opts.seed,
            "init": self.init_report,
            "detail_texture_seeded_from": self.seeded_detail,
        }
        self.lpips = None
        self._probe: list[dict] | None = None
        self._trained_styles: list[str] | None = None
        self._stop_reason: str | None = None
        self._recent_steps: list[float] = []
        self._first_step = 0.0
        self._save_seconds = 3.0
        self._sample_seconds = 2.0
        self.last_checkpoint: Path | None = None
        self.logger = RunLogger(self.run.root, False, False)

    # --- setup helpers ------------------------------------------------------------------------------
    def _overrides(self) -> dict:
        o = self.opts
        return {
            "batch": o.batch, "bf16": o.bf16, "workers": o.workers, "checkpoint_every": o.checkpoint_every,
            "recipe": o.recipe,
        }  # fmt: skip

    def _mesh_model(self, state):
        from head360.mesh.model import MeshModel

        if state is not None:
            from head360.model.checkpoint import load_checkpoint

            return load_checkpoint(self.run.latest()["dir"] / "generator.safetensors").generator.mesh
        if self.info.mesh_model_path is not None:
            return MeshModel.load(self.info.mesh_model_path)
        from head360.mesh.store import default_mesh_model

        return default_mesh_model()

    def _load_state(self, tensors: dict, state: dict) -> None:
        from head360.train.state import restore_rng

        try:
            self.model.load_state_dict(unprefixed("model", tensors))
            self.ema.load_state_dict(unprefixed("ema", tensors))
            self.D.load_state_dict(unprefixed("D", tensors))
            if self.refine_D is not None:
                self.refine_D.load_state_dict(unprefixed("refine_D", tensors))
        except (RuntimeError, KeyError) as e:
            raise Head360Error(f"the saved weights do not fit this version of the model ({e}); start a new run") from e
        for name, opt in self.optimizers.items():
            unflatten_optimizer(name, opt, tensors, state["optimizers"][name])
        self.step = int(state["step"])
        self.stage = int(state["stage"])
        self.completed = [int(s) for s in state["completed"]]
        self.stage_done = {int(k): int(v) for k, v in state["stage_done"].items()}
        self.stage_images = {int(k): int(v) for k, v in state["stage_images"].items()}
        self.positions = {int(k): (int(v[0]), int(v[1])) for k, v in state["positions"].items()}
        self.resumed_from = self.step
        rank_key = str(self.ctx.rank)
        if state.get("world_size") == self.ctx.world and rank_key in state["rng"]:
            rng_tensors = unprefixed(f"rng/{rank_key}", tensors)
            restore_rng({f"rng/{k}": v for k, v in rng_tensors.items()}, state["rng"][rank_key])
        else:  # another number of processes: fresh per-rank streams (not a bit-exact continuation)
            torch.manual_seed(self.opts.seed * 1000 + 17 + self.ctx.rank + self.step)

    # --- schedule ------------------------------------------------------------------------------------
    def stages_to_run(self) -> list[int]:
        stage = self.opts.stage
        if stage == "all":
            first = self.stage if self.stage not in self.completed else self.stage + 1
            if not self.opts.resume:
                first = 1
            return [s for s in (1, 2, 3) if s >= first]
        s = int(stage)
        if self.opts.resume and s < self.stage:
            raise Head360Error(
                f"this run has moved on to stage {self.stage}; stage {s} cannot be trained again in it "
                f"(start a new --out, or continue with --stage {self.stage} or all)"
            )
        return [s]

    # --- signals ---------------------------------------------------------------------------------------
    def _install_signals(self):
        previous = {}

        def handler(signum, _frame):
            if self._stop_reason == "signal" and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C: stop now
            self._stop_reason = "signal"
            self._signal = signum

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return previous

    def _deadline(self) -> float | None:
        if self.opts.max_minutes is None:
            return None
        return self.opts.started_at + 60.0 * self.opts.max_minutes

    def _step_estimate(self) -> float:
        """Typical seconds per step: the median of the last few (a stage's first step, which also
        starts the data loader and warms caches up, counts only until others exist)."""
        recent = self._recent_steps[-9:]
        return float(np.median(recent)) if recent else self._first_step

    def _time_left_ok(self, deadline: float | None, extra: float = 0.0) -> bool:
        """Whether one more step (+ ``extra`` seconds) and the final checkpoint still fit before ``deadline``."""
        if deadline is None:
            return True
        return time.monotonic() + 1.5 * self._step_estimate() + extra + 1.5 * self._save_seconds + 2.0 < deadline

    # --- main loop -------------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        stages = self.stages_to_run()
        # with --stage all, --steps is shared over all three stages (also when resuming in stage 2 or 3)
        planned = (1, 2, 3) if self.opts.stage == "all" else tuple(stages)
        budgets = stage_step_budgets(self.tcfg, planned, self.opts.steps)
        main = self.ctx.is_main
        # Ctrl-C / SIGTERM are caught from before the log says "started": a stop from then on (the
        # studio's Stop button) always ends with a checkpoint and the log's "stopped" event
        previous = self._install_signals()
        try:
            if main:
                self.run.root.mkdir(parents=True, exist_ok=True)
                from head360.fileio import write_json

                write_json(self.run.root / "run.json", self.run_config, indent=1)
            self.logger = RunLogger(self.run.root, main, self.tcfg.tensorboard, self.resumed_from, self.opts.progress)
            stopped = self._train_logged(stages, budgets)
        finally:
            for sig, h in previous.items():
                signal.signal(sig, h)
        return TrainResult(self.step, self.stage, stopped, self.last_checkpoint, self)

    def _train_logged(self, stages: list[int], budgets: dict[int, int]) -> str:
        """The stages between the log's "started"/"resumed" and "stopped"/"failed" events."""
        if self.resumed_from is not None:
            self.logger.event("resumed", self.step, stage=self.stage, stage_step=self.stage_done[self.stage])
        else:
            self.logger.event("started", 0, preset=self.opts.preset, data=self.opts.data, world_size=self.ctx.world)
            if self.init_report is not None:
                self.logger.event("initialised", 0, **self.init_report)
        if self.dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = self.tcfg.tf32
            torch.backends.cudnn.allow_tf32 = self.tcfg.tf32
        try:
            stopped = self._train_stages(stages, budgets)
            if self.ctx.enabled:
                digests = self.ctx.gather_strings(parameters_digest([self.model, self.ema, self.D]))
                same = len(set(digests)) == 1
                self.logger.event("ranks_in_sync", self.step, digests=digests, same=same)
                if not same:
                    raise Head360Error(f"the {self.ctx.world} processes ended with different weights ({digests})")
            self.logger.event("stopped", self.step, stage=self.stage, reason=stopped)
        except BaseException as e:
            self.logger.event("failed", self.step, stage=self.stage, error=f"{type(e).__name__}: {e}"[:500])
            raise
        finally:
            self.logger.close()
        return stopped

    def _train_stages(self, stages: list[int], budgets: dict[int, int]) -> str:
        """Run the stages in order; returns why training stopped ('done', 'time limit', 'signal')."""
        global_deadline = self._deadline()
        saved_step = self.step
        for i, s in enumerate(stages):
            last = i == len(stages) - 1
            stage_deadline = None
            if global_deadline is not None:
                fractions = [self.tcfg.stage_time_fractions[x - 1] for x in stages[i:]]
                share = fractions[0] / sum(fractions) if sum(fractions) > 0 else 1.0 / len(fractions)
                now = time.monotonic()
                stage_deadline = global_deadline if last else now + (global_deadline - now) * share
            outcome = self._run_stage(s, budgets[s], stage_deadline, global_deadline, last)
            # a stop by signal saves even before the first step: the run then says "go on with --resume"
            if self.step != saved_step or outcome == "finished" or self._stop_reason == "signal":
                self.save_checkpoint()
                saved_step = self.step
            if outcome != "finished" or self._stop_reason is not None:
                break
        self.logger.close_bar()
        return self._stop_reason or "done"

    def _run_stage(self, stage: int, steps: int, stage_deadline, global_deadline, last_stage: bool) -> str:
        """Train ``stage`` until its step budget or deadline; 'finished' or 'stopped'."""
        tcfg, ctx = self.tcfg, self.ctx
        if self.stage != stage and self.stage_done[stage] == 0:
            # a fresh stage starts from the EMA weights (what the checkpoint holds); frozen parts then
            # stay identical in the trained model and its EMA
            self.model.load_state_dict(self.ema.state_dict())
        self.stage = stage
        dataset = None
        if stage == 2 and not self.info.has_hair:
            self.logger.event("stage_skipped", self.step, stage=2, reason="the dataset has no images with hair")
        elif stage == 3 and self.model.generator.refine is None:
            self.logger.event("stage_skipped", self.step, stage=3, reason="this preset has no RefineNet")
        else:
            dataset = stage_dataset(self.info, self.split, stage, self.resolution)
        if dataset is None:
            self._finish_stage(stage)
            return "finished"
        trainable = set_stage_trainable(self.model, stage)
        g_net = self._wrap(self.model, find_unused=(stage == 1)) if stage < 3 else None
        if stage == 3:
            refine_net = self._wrap(self.model.generator.refine)
            d_net = self._wrap(MultiscaleDiscriminatorStep(self.refine_D))
            losses_used = ["lsgan", "feature_matching", "ssim"]
            self.lpips = lpips_loss_fn(self.dev)
            if self.lpips is not None:
                losses_used.append("lpips")
            self.logger.event(
                "losses_used", self.step, stage=3, terms=losses_used,
                lpips="used" if self.lpips is not None else "unavailable (no LPIPS weights on this machine)",
            )  # fmt: skip
        elif tcfg.recipe == "reconstruction":
            refine_net = d_net = None
            used = ["l1", "ssim", "l1_raw", "alpha"] + (["depth"] if self.info_has_depth else []) + ["density_tv"]
            used += ["code_prior"] if stage == 1 else []
            self.logger.event("losses_used", self.step, stage=stage, terms=used, recipe="reconstruction")
            if not self.info_has_depth:
                self.logger.event(
                    "depth_unavailable", self.step,
                    message="this dataset was written without depth maps: training without the depth term "
                    "(rerun `main.py synth` into a new folder to get them)",
                )  # fmt: skip
        else:
            refine_net = None
            d_net = self._wrap(DualDiscriminatorStep(self.D))
            used = ["gan_nonsaturating", "l1", "l1_raw", "r1", "density_tv"] + (["code_prior"] if stage == 1 else [])
            self.logger.event("losses_used", self.step, stage=stage, terms=used)
        start = self.positions.get(stage, (0, 0))
        sampler = ShardedBatchSampler(len(dataset), self.local_batch, ctx.rank, ctx.world, self.opts.seed, stage, start)
        start_batches = self.stage_done[stage]
        loader = make_loader(dataset, sampler, self._workers(), pin_memory=self.dev.type == "cuda")
        self.logger.event(
            "stage_started", self.step, stage=stage, name=STAGE_NAMES[stage], steps=steps,
            images=len(dataset), trainable_parameters=int(sum(p.numel() for p in trainable)),
        )  # fmt: skip
        self.logger.start_bar(stage, min(self.stage_done[stage], steps), steps, STAGE_NAMES[stage])
        sums: dict[str, torch.Tensor] = {}
        count, t_log = 0, time.monotonic()
        outcome = "finished"
        iterator = iter(loader)
        try:
            # In a process group the ranks agree on stopping through an all-reduce, which waits for the
            # GPU: done every `every` steps only (and the time margin covers that many steps).
            every = 1 if not ctx.enabled else max(1, min(10, tcfg.log_every))
            while self.stage_done[stage] < steps:
                if (self.stage_done[stage] - start_batches) % every:
                    signalled = global_over = stage_over = False
                else:
                    signalled, global_over, stage_over = ctx.any_flags([
                        self._stop_reason == "signal",
                        not self._time_left_ok(global_deadline, self._step_estimate() * (every - 1)),
                        not self._time_left_ok(stage_deadline, self._step_estimate() * (every - 1)),
                    ])  # fmt: skip
                if signalled:
                    self._stop_reason, outcome = "signal", "stopped"
                    break
                if global_over:
                    self._stop_reason = "time limit"
                    outcome = "finished" if last_stage else "stopped"
                    break
                if stage_over:
                    break
                t0 = time.monotonic()
                batch = next(iterator)
                if stage == 3:
                    losses = self._step_refine(batch, refine_net, d_net)
                elif tcfg.recipe == "reconstruction":
                    losses = self._step_reconstruction(batch, stage, g_net)
                else:
                    losses = self._step_gan(batch, stage, g_net, d_net)
                self.step += 1
                self.stage_done[stage] += 1
                self.stage_images[stage] += tcfg.batch
                self._update_ema(stage)
                for k, v in losses.items():
                    sums[k] = sums[k] + v if k in sums else v.clone()
                count += 1
                dt = time.monotonic() - t0
                if self.stage_done[stage] - start_batches == 1:
                    self._first_step = dt  # also started the data loader: kept apart
                else:
                    self._recent_steps = (self._recent_steps + [dt])[-20:]
                self.positions[stage] = sampler.position_after(self.stage_done[stage] - start_batches)
                self.logger.advance()
                if self.step % tcfg.log_every == 0 or self.stage_done[stage] == steps:
                    names = sorted(sums)
                    values = ctx.mean(torch.stack([sums[k] for k in names]) / max(count, 1)).tolist()
                    it_s = count / max(time.monotonic() - t_log, 1e-9)
                    self.logger.scalars(
                        self.step, stage, self.stage_done[stage], dict(zip(names, values, strict=True)), it_s,
                        sum(self.stage_images.values()),
                    )  # fmt: skip
                    sums, count, t_log = {}, 0, time.monotonic()
                if self.step % tcfg.probe_every == 0 and self._time_left_ok(stage_deadline, self._sample_seconds):
                    self.write_probe()
                if self.step % tcfg.sample_every == 0 and self._time_left_ok(stage_deadline, self._sample_seconds):
                    self.write_samples()  # main process only; skipped when the time limit is near
                if self.step % tcfg.checkpoint_every == 0 and self.stage_done[stage] < steps:
                    # skipped (on every rank alike) when the stage is about to end with its own checkpoint
                    (near_end,) = ctx.any_flags([not self._time_left_ok(stage_deadline, self._save_seconds)])
                    if not near_end:
                        self.save_checkpoint()
        finally:
            del iterator
        if outcome == "finished":
            self._finish_stage(stage)
        self.logger.close_bar()
        return outcome

    def _finish_stage(self, stage: int) -> None:
        if stage not in self.completed:
            self.completed.append(stage)
        self.logger.event("stage_finished", self.step, stage=stage, stage_steps=self.stage_done[stage])

    def _workers(self) -> int:
        """DataLoader workers: the config's, at most the CPUs this process may use (shared by the
        processes of this node)."""
        import os

        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cpus = os.cpu_count() or 1
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return max(0, min(self.tcfg.workers, cpus // max(1, local)))

    def _wrap(self, module: torch.nn.Module, find_unused: bool = False):
        if not self.ctx.enabled:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.dev.index] if self.dev.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused)

    def _autocast(self):
        return torch.autocast(self.dev.type, dtype=torch.bfloat16, enabled=self.tcfg.bf16)

    def _batch_inputs(self, batch: dict):
        dev, nb = self.dev, self.dev.type == "cuda"
        image = batch["image"].to(dev, non_blocking=nb)
        cams = batch["camera"].to(dev, non_blocking=nb)
        weights = batch["weights"].to(dev, non_blocking=nb)
        shape = batch["shape"].to(dev, non_blocking=nb)
        subject = torch.as_tensor(batch["subject"])
        rows = self.row_of[subject].to(dev, non_blocking=nb)
        styles = self.info.hairstyles
        hairstyles = [None if styles[h] == "none" else styles[h] for h in torch.as_tensor(batch["hairstyle"]).tolist()]
        colors = batch.get("hair_color") if self.model.generator.hair_color is not None else None
        return image, cams, weights, shape, rows, hairstyles, colors

    # --- one step of stage 1 or 2 --------------------------------------------------------------------
    def _step_gan(self, batch: dict, stage: int, g_net, d_net) -> dict[str, torch.Tensor]:
        tcfg = self.tcfg
        real, cams, weights, shape, rows, hairstyles, colors = self._batch_inputs(batch)
        zt = self.gcfg.texture.code_dim
        mix = CodeMix.draw(rows, self.num_codes, zt, tcfg.random_code_fraction)
        dens_step = tcfg.density_reg_weight > 0 and self.step % tcfg.density_reg_interval == 0
        with self._autocast():
            out = g_net(
                rows, shape, weights, cams, hairstyles, mix, self.train_quality,
                tcfg.density_reg_points if dens_step else 0, tcfg.density_reg_offset, hair_color=colors,
            )  # fmt: skip
        fake = _resize(out["rgb"].float(), self.resolution)
        fake_raw = out["raw"].float()
        real_raw = _resize(real, fake_raw.shape[-1])
        paired = (mix.kind == 0).float()
        n_paired = paired.sum().clamp(min=1.0)
        l1 = ((to_signed(fake) - to_signed(real)).abs().mean(dim=(1, 2, 3)) * paired).sum() / n_paired
        l1_raw = ((to_signed(fake_raw) - to_signed(real_raw)).abs().mean(dim=(1, 2, 3)) * paired).sum() / n_paired
        self.D.requires_grad_(False)
        with self._autocast():
            fake_logits = self.D(to_signed(fake), to_signed(fake_raw), cams, weights).float()
        gan_g = generator_gan_loss(fake_logits)
        loss_g = tcfg.gan_weight * gan_g + tcfg.l1_weight * l1 + tcfg.l1_raw_weight * l1_raw
        losses = {"g_gan": gan_g.detach(), "l1": l1.detach(), "l1_raw": l1_raw.detach()}
        self._generator_update(loss_g, losses, out, stage, dens_step)

        # discriminator phase on the same fakes
        self.D.requires_grad_(True)
        r1_step = tcfg.r1_gamma > 0 and self.step % tcfg.r1_interval == 0
        with self._autocast():
            real_logits, fake_logits, r1 = d_net(
                to_signed(fake).detach(), to_signed(fake_raw).detach(), to_signed(real), to_signed(real_raw),
                cams, weights, r1_step,
            )  # fmt: skip
        gan_d = discriminator_gan_loss(real_logits.float(), fake_logits.float())
        loss_d = gan_d
        if r1_step:
            loss_d = loss_d + tcfg.r1_gamma * 0.5 * tcfg.r1_interval * r1.float()
            losses["r1"] = r1.detach().float()
        opt_d = self.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        losses["d_gan"] = gan_d.detach()
        losses["real_score"] = real_logits.detach().float().mean()
        losses["fake_score"] = fake_logits.detach().float().mean()
        return losses

    # --- one step of the reconstruction recipe (stages 1 and 2) ------------------------------------------
    def _step_reconstruction(self, batch: dict, stage: int, g_net) -> dict[str, torch.Tensor]:
        """Render one crop of each image (only its rays are marched) and compare it with the truth:
        ``L = w_rgb |rgb - real|_1 + w_ssim (1 - SSIM) + w_raw |raw - real_small|_1 + w_alpha |alpha - a|_1
        + w_depth |depth - d|_1 (where the truth is opaque) (+ density TV) (+ code prior in stage 1)``."""
        tcfg = self.tcfg
        real, cams, weights, shape, rows, hairstyles, colors = self._batch_inputs(batch)
        res = self.resolution
        crop = min(tcfg.crop, res)
        ratio = res // self.neural_resolution
        crop -= crop % ratio
        window = choose_windows(batch["label_map"], crop, ratio, tcfg.face_crop_fraction).to(self.dev)
        mix = CodeMix.own(rows, self.gcfg.texture.code_dim)
        dens_step = tcfg.density_reg_weight > 0 and self.step % tcfg.density_reg_interval == 0
        with self._autocast():
            out = g_net(
                rows, shape, weights, cams, hairstyles, mix, self.train_quality,
                tcfg.density_reg_points if dens_step else 0, tcfg.density_reg_offset, window, crop,
                hair_color=colors,
            )  # fmt: skip
        fake = out["rgb"].float()
        real_crop = crop_windows(real, window, crop)
        alpha_crop = crop_windows(batch["alpha"].to(self.dev), window, crop)
        l1 = (fake - real_crop).abs().mean()
        ssim_term = (1.0 - ssim(fake.clamp(0, 1), real_crop)).mean()
        l1_raw = (out["raw"].float() - F.avg_pool2d(real_crop, ratio)).abs().mean()
        l_alpha = (out["alpha"].float() - F.avg_pool2d(alpha_crop, ratio)).abs().mean()
        loss = tcfg.rgb_weight * l1 + tcfg.ssim_weight * ssim_term + tcfg.raw_weight * l1_raw
        loss = loss + tcfg.alpha_weight * l_alpha
        losses = {"l1": l1.detach(), "ssim_loss": ssim_term.detach(), "l1_raw": l1_raw.detach(),
                  "alpha": l_alpha.detach()}  # fmt: skip
        if self.info_has_depth and tcfg.depth_weight > 0:
            truth = ray_distance(batch["depth"].to(self.dev), cams, res)
            truth = crop_windows(truth, window, crop)[..., ratio // 2 :: ratio, ratio // 2 :: ratio]
            opaque = (F.avg_pool2d(alpha_crop, ratio) > 0.99) & (truth > 0)
            opaque = opaque & torch.as_tensor(batch["has_depth"], device=self.dev).view(-1, 1, 1, 1)
            err = (out["depth"].float() - truth).abs() * opaque
            l_depth = err.sum() / opaque.sum().clamp(min=1)
            loss = loss + tcfg.depth_weight * l_depth
            losses["depth"] = l_depth.detach()
        self._generator_update(loss, losses, out, stage, dens_step)
        return losses

    def _generator_update(self, loss, losses: dict, out: dict, stage: int, dens_step: bool) -> None:
        """Add the code prior (stage 1) and the lazy density TV to ``loss`` (logging both in ``losses``),
        then one step of the stage's generator optimiser (``G`` in stage 1, ``hair`` in stage 2)."""
        tcfg = self.tcfg
        if stage == 1 and tcfg.code_prior_weight > 0:
            loss = loss + tcfg.code_prior_weight * out["code_prior"]
            losses["code_prior"] = out["code_prior"].detach()
        if dens_step:
            loss = loss + tcfg.density_reg_weight * tcfg.density_reg_interval * out["density_tv"]
            losses["density_tv"] = out["density_tv"].detach()
        opt = self.optimizers["G" if stage == 1 else "hair"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # --- one step of stage 3 ----------------------------------------------------------------------------
    def _step_refine(self, batch: dict, refine_net, d_net) -> dict[str, torch.Tensor]:
        tcfg = self.tcfg
        real, cams, weights, shape, rows, hairstyles, colors = self._batch_inputs(batch)
        g = self.model.generator
        with torch.no_grad(), self._autocast():
            codes = self.model.texture_codes(rows)
            planes = g.planes(codes, shape, weights, hairstyles, hair_color=colors)
            rendered = g.render(planes, cams, quality=self.train_quality, skip_empty=False)["rgb"].float()
        with self._autocast():
            refined = refine_net(rendered)
        refined = _resize(refined.float(), self.resolution)
        condition = to_signed(_resize(rendered, self.resolution))
        fake, real_s = to_signed(refined), to_signed(real)
        self.refine_D.requires_grad_(False)
        with self._autocast():
            fake_out = self.refine_D(condition, fake)
            with torch.no_grad():
                real_out = self.refine_D(condition, real_s)
        fake_out = [[t.float() for t in scale] for scale in fake_out]
        real_out = [[t.float() for t in scale] for scale in real_out]
        gan_g = lsgan_loss(fake_out, True)
        fm = feature_matching_loss(fake_out, real_out)
        ssim_term = (1.0 - ssim(refined.clamp(0, 1), real)).mean()
        loss_g = tcfg.refine_gan_weight * gan_g + tcfg.refine_feature_matching_weight * fm
        loss_g = loss_g + tcfg.refine_ssim_weight * ssim_term
        losses = {"g_lsgan": gan_g.detach(), "feature_matching": fm.detach(), "ssim_loss": ssim_term.detach()}
        if self.lpips is not None:
            lp = self.lpips(fake, real_s).mean()
            loss_g = loss_g + tcfg.refine_lpips_weight * lp
            losses["lpips"] = lp.detach()
        opt = self.optimizers["refine"]
        opt.zero_grad(set_to_none=True)
        loss_g.backward()
        opt.step()

        self.refine_D.requires_grad_(True)
        with self._autocast():
            fake_out, real_out = d_net(condition, fake.detach(), real_s)
        loss_d = 0.5 * (
            lsgan_loss([[t.float() for t in s] for s in fake_out], False)
            + lsgan_loss([[t.float() for t in s] for s in real_out], True)
        )
        opt_d = self.optimizers["refine_D"]
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        losses["d_lsgan"] = loss_d.detach()
        losses["l1"] = (fake.detach() - real_s).abs().mean()  # same [-1, 1] scale as stages 1-2
        return losses

    def _update_ema(self, stage: int) -> None:
        tcfg = self.tcfg
        half_life = tcfg.ema_half_life_images
        if tcfg.ema_rampup > 0:
            half_life = min(half_life, self.stage_images[stage] * tcfg.ema_rampup)
        beta = 0.5 ** (tcfg.batch / max(half_life, 1e-8))
        update_ema(self.ema, self.model, beta)

    # --- samples ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_grid(self, subjects: int = 4) -> np.ndarray:
        """Rows: the first training subjects; columns: front, side (yaw 90), back with the subject's
        hair, then front without hair (the head planes alone). EMA weights. -> [H, W, 3] uint8."""
        from head360.cameras import Camera
        from head360.model.generator import to_uint8

        g = self.ema.generator
        n = min(subjects, self.num_codes)
        ids = self.split.train_subjects[:n]
        index = {s["id"]: s for s in self.info.subjects}
        styles = [index[i].get("hairstyle") for i in ids]
        styles = [s if s in g.hairstyles else None for s in styles]
        codes = self.ema.texture_codes.weight[:n]
        shapes = torch.stack([self.shape_codes[self.info.subject_ids.index(i)] for i in ids]).to(self.dev)
        weights = torch.zeros(n, 52, device=self.dev)
        planes = g.planes(codes, shapes, weights, styles)
        columns = []
        for yaw, hair in ((0.0, True), (90.0, True), (180.0, True), (0.0, False)):
            cams = torch.tensor([Camera.orbit(yaw, 0.0).label()] * n, dtype=torch.float32, device=self.dev)
            columns.append(g.render(planes, cams, quality="full", hair=hair)["rgb"])
        rows = [[to_uint8(col[i]) for col in columns] for i in range(n)]
        return image_grid(rows)

    @torch.no_grad()
    def probe_metrics(self, images: int = 8) -> dict[str, float] | None:
        """Face-region PSNR, eyes + mouth PSNR and plain PSNR of the EMA generator on a fixed handful of
        held-out views of training subjects (None when the split holds out no view)."""
        from head360.data.dataset import HeadDataset
        from head360.train.evaluate import region_masks
        from head360.train.losses import psnr

        if self._probe is None:
            if self.info.online or not self.split.holdout_views:
                return None
            ds = HeadDataset(self.info.spec, subjects=self.split.train_subjects,
                             expressions=self.split.train_expressions, views=self.split.holdout_views,
                             resolution=self.resolution)  # fmt: skip
            pick = np.linspace(0, len(ds) - 1, images).round().astype(int)
            self._probe = [ds[int(i)] for i in pick]
        samples = self._probe
        stack = {k: torch.stack([torch.as_tensor(x[k]) for x in samples]).to(self.dev)
                 for k in ("image", "camera", "weights", "shape", "label_map")}  # fmt: skip
        styles = self.info.hairstyles
        hairstyles = [None if styles[x["hairstyle"]] == "none" else styles[x["hairstyle"]] for x in samples]
        rows = self.row_of[torch.tensor([x["subject"] for x in samples])].to(self.dev)
        g = self.ema.generator
        planes = g.planes(self.ema.texture_codes(rows), stack["shape"], stack["weights"], hairstyles)
        rgb = _resize(g.render(planes, stack["camera"], quality="full")["rgb"].float().clamp(0, 1), self.resolution)
        face, eyes_mouth = region_masks(stack["label_map"])
        real = stack["image"]

        def mean(values: torch.Tensor) -> float:
            values = values[torch.isfinite(values)]
            return float(values.mean()) if len(values) else float("nan")

        return {
            "face_psnr": mean(psnr(rgb, real, mask=face)),
            "eyes_mouth_psnr": mean(psnr(rgb, real, mask=eyes_mouth)),
            "psnr": mean(psnr(rgb, real)),
            "minutes": (time.monotonic() - self.opts.started_at) / 60.0,
        }

    def write_probe(self) -> None:
        if not self.ctx.is_main:
            return
        values = self.probe_metrics()
        if values is not None:
            minutes = values.pop("minutes")
            self.logger.metrics(self.step, self.stage, values, minutes=round(minutes, 3))

    def write_samples(self) -> None:
        if not self.ctx.is_main:
            return
        t0 = time.monotonic()
        self.logger.samples(self.step, self.stage, self.sample_grid())
        self._sample_seconds = time.monotonic() - t0

    # --- checkpoints --------------------------------------------------------------------------------------
    def subject_table(self):
        from head360.model.checkpoint import SubjectCodes

        index = {s["id"]: i for i, s in enumerate(self.info.subjects)}
        g = self.ema.generator
        codes = self.ema.texture_codes.weight.detach().cpu().numpy()
        table = []
        for row, sid in enumerate(self.split.train_subjects):
            s = self.info.subjects[index[sid]]
            style = s.get("hairstyle")
            table.append(
                SubjectCodes(
                    name=sid,
                    texture_code=codes[row].astype(np.float32),
                    shape_code=np.asarray(s["shape"], np.float32),
                    hairstyle=style if style in g.hairstyles else None,
                    hair_color=s.get("hair_color") if g.hair_color is not None else None,
                )
            )
        return table

    def checkpoint_info(self) -> dict:
        return {
            "trained": True,
            "preset": self.opts.preset,
            "step": self.step,
            "stage": self.stage,
            "stages_completed": sorted(self.completed),
            "stage_steps": {str(k): v for k, v in self.stage_done.items()},
            "split": self.split.to_json(),
            "data": self.info.to_json(),
            "train_resolution": self.resolution,
            "discriminator_resolution": self.resolution,
            "hairstyles_trained": self.hairstyles_trained(),
        }

    def hairstyles_trained(self) -> list[str]:
        """Hairstyles of the bank that some training image wears (what the studio's hair picker offers)."""
        if self._trained_styles is None:
            bank = self.model.generator.hairstyles
            if self.info.online:
                self._trained_styles = list(bank)
            else:
                records = stage_dataset(self.info, self.split, 2 if self.info.has_hair else 1, self.resolution).records
                worn = {r["hairstyle"] for r in records if r["hair"]}
                self._trained_styles = [h for h in bank if h in worn]
        return self._trained_styles

    def _state(self) -> tuple[dict[str, torch.Tensor], dict]:
        from head360.model.config import config_to_dict
        from head360.train.state import capture_rng

        tensors: dict[str, torch.Tensor] = {}
        tensors.update(prefixed("model", self.model.state_dict()))
        tensors.update(prefixed("ema", self.ema.state_dict()))
        tensors.update(prefixed("D", self.D.state_dict()))
        if self.refine_D is not None:
            tensors.update(prefixed("refine_D", self.refine_D.state_dict()))
        structures = {}
        for name, opt in self.optimizers.items():
            t, s = flatten_optimizer(name, opt)
            tensors.update(t)
            structures[name] = s
        rng_t, rng_j = capture_rng()
        gathered = self._gather_rng(rng_t, rng_j)
        rng_json = {}
        for rank, (t, j) in enumerate(gathered):
            for k, v in t.items():
                tensors[f"rng/{rank}/{k[len('rng/') :]}"] = v
            rng_json[str(rank)] = j
        state = {
            "preset": self.opts.preset,
            "step": self.step,
            "stage": self.stage,
            "completed": sorted(self.completed),
            "stage_done": {str(k): v for k, v in self.stage_done.items()},
            "stage_images": {str(k): v for k, v in self.stage_images.items()},
            "positions": {str(k): list(v) for k, v in self.positions.items()},
            "optimizers": structures,
            "rng": rng_json,
            "world_size": self.ctx.world,
            "train_config": train_config_to_dict(self.tcfg),
            "generator_config": config_to_dict(self.gcfg),
            "split": self.split.to_json(),
            "data": self.info.to_json(),
            "seed": self.opts.seed,
        }
        return tensors, state

    def _gather_rng(self, tensors, structure):
        if not self.ctx.enabled:
            return [(tensors, structure)]
        payload = ({k: v.numpy() for k, v in tensors.items()}, structure)
        out: list = [None] * self.ctx.world
        torch.distributed.all_gather_object(out, payload)
        return [({k: torch.from_numpy(np.asarray(v)) for k, v in t.items()}, j) for t, j in out]

    def _checkpoint_bytes(self, state_tensors: dict[str, torch.Tensor]) -> int:
        """Rough size of one checkpoint folder (state + generator file), to check free space first."""
        mesh = self.model.generator.mesh
        mesh_bytes = sum(
            np.asarray(a).nbytes for a in (mesh.mean, mesh.shape_basis, mesh.expr_basis, mesh.expr_shape_basis)
        )
        generator = sum(t.numel() * t.element_size() for t in self.ema.generator.state_dict().values())
        d = sum(t.numel() * t.element_size() for t in self.D.state_dict().values())
        state = sum(t.numel() * t.element_size() for t in state_tensors.values())
        return state + generator + d + mesh_bytes

    def save_checkpoint(self) -> Path | None:
        """Write the generator checkpoint and the training state (rank 0), crash-safe."""
        from head360.model.checkpoint import save_checkpoint

        tensors, state = self._state()  # every rank takes part (RNG states are gathered)
        if not self.ctx.is_main:
            return None
        t0 = time.monotonic()
        folder = self.run.save(
            self.step,
            lambda p: save_checkpoint(
                p, self.ema.generator, self.subject_table(), modules={"discriminator": self.D},
                info=self.checkpoint_info(),
            ),
            lambda p: save_state_file(p, tensors, state),
            {"step": self.step, "stage": self.stage, "completed": sorted(self.completed)},
            expected_bytes=self._checkpoint_bytes(tensors),
        )  # fmt: skip
        self._save_seconds = max(0.5, time.monotonic() - t0)
        self.last_checkpoint = self.run.checkpoint_path
        self.logger.event("checkpoint", self.step, stage=self.stage, path=str(folder.relative_to(self.run.root)))
        return folder


def choose_windows(label_map: torch.Tensor, crop: int, step: int, face_fraction: float) -> torch.Tensor:
    """Top-left corners [B, 2] (row, col; multiples of ``step``) of ``crop``-pixel crops of label maps
    [B, H, W]: with probability ``face_fraction`` centred on a random eye or mouth pixel (where the
    image shows one), else on a random pixel of the head (torch RNG)."""
    from head360.labels import Label

    b, h, w = label_map.shape
    corners = []
    for i in range(b):
        labels = label_map[i]
        face = (labels == int(Label.EYES)) | (labels == int(Label.MOUTH_INTERIOR))
        pick = face if (face.any() and float(torch.rand(())) < face_fraction) else labels != int(Label.BACKGROUND)
        where = pick.nonzero()
        if len(where) == 0:
            centre = torch.tensor([h // 2, w // 2])
        else:
            centre = where[int(torch.randint(len(where), ()))]
        top = int(centre[0]) - crop // 2 + int(torch.randint(-crop // 4, crop // 4 + 1, ()))
        left = int(centre[1]) - crop // 2 + int(torch.randint(-crop // 4, crop // 4 + 1, ()))
        top = min(max(top, 0), h - crop) // step * step
        left = min(max(left, 0), w - crop) // step * step
        corners.append((top, left))
    return torch.tensor(corners, dtype=torch.long)


def crop_windows(images: torch.Tensor, window: torch.Tensor, size: int) -> torch.Tensor:
    """images [B, C, H, W], window [B, 2] top-left corners -> [B, C, size, size]."""
    return torch.stack(
        [img[:, t : t + size, l : l + size] for img, (t, l) in zip(images, window.tolist(), strict=True)]
    )


def ray_distance(depth_z: torch.Tensor, cameras: torch.Tensor, resolution: int) -> torch.Tensor:
    """Camera-space z [B, 1, R, R] (the factory's depth maps, 0 = empty) -> distance along each pixel's
    ray [B, 1, R, R] (what the volume render's ``depth`` is)."""
    k = cameras[:, 16:].reshape(-1, 3, 3)
    t = (torch.arange(resolution, device=depth_z.device, dtype=depth_z.dtype) + 0.5) / resolution
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    x = (xx[None] - k[:, 0, 2, None, None]) / k[:, 0, 0, None, None]
    y = (yy[None] - k[:, 1, 2, None, None]) / k[:, 1, 1, None, None]
    return depth_z * torch.sqrt(1.0 + x * x + y * y)[:, None]


def _set_hair_color_refs(model, ema, colors: dict[str, list[float]]) -> None:
    """Each hairstyle's reference colour (what a render with no colour given shows) is the mean colour it
    wears in the training data; styles the data does not colour keep mid grey."""
    for target in (model, ema):
        g = target.generator
        if g.hair_color is None:
            continue
        with torch.no_grad():
            for i, style in enumerate(g.hairstyles):
                if style in colors:
                    g.hair_color_ref[i] = torch.tensor(colors[style], dtype=g.hair_color_ref.dtype)


def _dataset_has_depth(info: DatasetInfo) -> bool:
    """Whether the dataset's images come with depth maps (the online dataset renders them)."""
    if info.online:
        return True
    index = Path(info.spec) / "dataset.json"
    import json

    try:
        first = json.loads(index.read_text())["images"][0]["path"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False
    return (Path(info.spec) / (str(first)[: -len(".png")] + ".depth.png")).is_file()


def _seed_detail_texture(generator, info: DatasetInfo, subjects: list[str]) -> list[str]:
    """Start the camera-view path's detail texture from the mean UV albedo atlas of the training
    subjects (``meshes/<id>/head.png``, in the template's UVs); returns the subjects it used."""
    if info.online:
        return []
    import cv2

    atlases, used = [], []
    for sid in subjects:
        path = Path(info.spec) / "meshes" / sid / "head.png"
        img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if img is None:
            continue
        r = generator.config.screen.detail_resolution
        img = cv2.resize(img, (r, r), interpolation=cv2.INTER_AREA)
        atlases.append(torch.from_numpy(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float() / 255.0)
        used.append(sid)
    if atlases:
        generator.screen.seed_detail(torch.stack(atlases).mean(0))
    return used


def train(opts: TrainOptions) -> TrainResult:
    """Run (or resume) training as ``opts`` says. In a torchrun process group every rank calls this."""
    ctx = init_distributed(opts.device)
    try:
        trainer = Trainer(opts, ctx)
        return trainer.train()
    finally:
        ctx.shutdown()


__all__ = ["TrainOptions", "TrainResult", "Trainer", "train", "DatasetInfo"]
