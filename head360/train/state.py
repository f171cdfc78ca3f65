"""The run folder and its crash-safe checkpoints (safetensors + JSON, nothing pickled).

Layout of ``RUN/``::

    RUN/checkpoint.safetensors     the latest generator checkpoint (EMA weights, config, subject table,
                                   mesh model, dual discriminator): what render / studio / eval load
    RUN/latest.json                {"dir": "checkpoints/step-00001234", "step", "stage", ...}
    RUN/checkpoints/step-XXXXXXXX/generator.safetensors   that step's generator checkpoint
    RUN/checkpoints/step-XXXXXXXX/state.safetensors       training state (below)
    RUN/run.json                   how the run was started (preset, data, split, configs)
    RUN/log.jsonl                  one JSON object per logged step or event
    RUN/samples/step-XXXXXXXX.png, RUN/samples/latest.png   sample grids
    RUN/tb/                        TensorBoard scalars and images

Training state (``state.safetensors``): tensors ``model/<key>`` (the trained generator + texture
codes), ``ema/<key>``, ``D/<key>``, ``refine_D/<key>``, ``opt/<name>/<param index>/<field>`` (optimiser
state flattened), ``rng/torch``, ``rng/cuda/<i>``, ``rng/numpy``; the safetensors header holds the JSON
``state`` (step, stage, steps done per stage, sampler positions, optimiser structure, RNG JSON parts,
configs, split, dataset description).

Crash safety: every file is written under a temporary name and renamed; ``latest.json`` is rewritten
(atomically) only after both files of a step are complete, and the previous step folder is removed
only after that. A run killed at any moment therefore always has a complete latest checkpoint.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from head360.errors import Head360Error
from head360.fileio import atomic_path, write_json

STATE_FORMAT = "head360-train-state/1"


# --- optimisers ------------------------------------------------------------------------------------
def flatten_optimizer(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimiser state dict -> (tensors ``opt/<name>/<param>/<field>``, JSON structure)."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for pid, fields in sd["state"].items():
        for key, value in fields.items():
            if torch.is_tensor(value):
                tensors[f"opt/{name}/{pid}/{key}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = []
    for g in sd["param_groups"]:
        groups.append({k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()})
    return tensors, {"param_groups": groups, "scalars": scalars}


_IMPLEMENTATION_KEYS = ("fused", "foreach", "capturable", "differentiable")


def unflatten_optimizer(name: str, optimizer: torch.optim.Optimizer, tensors: dict, structure: dict) -> None:
    state: dict[int, dict] = {}
    prefix = f"opt/{name}/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, field_name = key[len(prefix) :].split("/", 1)
            state.setdefault(int(pid), {})[field_name] = value
    for pid, fields in structure.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(fields)
    groups = []
    current = optimizer.state_dict()["param_groups"]
    if len(current) != len(structure["param_groups"]):
        raise Head360Error(f"the saved optimiser state '{name}' does not fit this model; start a new run")
    for g, now in zip(structure["param_groups"], current, strict=True):
        group = {k: (tuple(v) if k == "betas" else v) for k, v in g.items()}
        # how the update runs (fused kernels on CUDA, ...) follows this machine, not the saved run
        for key in _IMPLEMENTATION_KEYS:
            if key in now:
                group[key] = now[key]
            else:
                group.pop(key, None)
        groups.append(group)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as e:
        raise Head360Error(f"the saved optimiser state '{name}' does not fit this model ({e}); start a new run") from e


# --- random number generators ----------------------------------------------------------------------
def capture_rng() -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {"rng/torch": torch.get_rng_state().clone()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s.clone()
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - other code may use it
    tensors["rng/numpy"] = torch.from_numpy(np.asarray(keys, np.int64))
    py_version, py_state, py_gauss = random.getstate()
    return tensors, {
        "numpy": [kind, int(pos), int(has_gauss), float(cached)],
        "python": [py_version, list(py_state), py_gauss],
    }


def restore_rng(tensors: dict, structure: dict) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    cuda = sorted((k for k in tensors if k.startswith("rng/cuda/")), key=lambda k: int(k.rsplit("/", 1)[1]))
    if cuda and torch.cuda.is_available():
        states = [tensors[k] for k in cuda][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(states)
    kind, pos, has_gauss, cached = structure["numpy"]
    np.random.set_state((kind, tensors["rng/numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    version, state, gauss = structure["python"]
    random.setstate((version, tuple(state), gauss))


# --- the run folder ----------------------------------------------------------------------------------
def _no_space(e: OSError) -> bool:
    return getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT)


def _as_disk_error(e: BaseException) -> OSError | None:
    """The OSError behind a failed write: itself, the cause of a Head360Error, or one rebuilt from a
    safetensors error message (safetensors reports "No space left on device (os error 28)" as text)."""
    if isinstance(e, OSError):
        return e
    cause = e.__cause__
    if isinstance(cause, OSError):
        return cause
    text = str(e)
    if "No space left on device" in text or "os error 28" in text:
        return OSError(errno.ENOSPC, "No space left on device")
    if "Disk quota exceeded" in text or "os error 122" in text:
        return OSError(errno.EDQUOT, "Disk quota exceeded")
    if isinstance(e, Head360Error) or type(e).__name__ == "SafetensorError":
        return OSError(errno.EIO, text)
    return None


class RunDir:
    """The files of one training run (see the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def latest_path(self) -> Path:
        return self.root / "latest.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.root / "checkpoint.safetensors"

    @property
    def log_path(self) -> Path:
        return self.root / "log.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.root / "samples"

    @property
    def tb_dir(self) -> Path:
        return self.root / "tb"

    def has_checkpoint(self) -> bool:
        return self.latest_path.is_file()

    def latest(self) -> dict:
        """The latest complete checkpoint: ``{"dir": Path, "step", "stage", ...}``."""
        try:
            record = json.loads(self.latest_path.read_text())
            folder = self.root / record["dir"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise Head360Error(f"'{self.latest_path}' is unreadable ({e}); the run cannot be resumed") from e
        for name in ("generator.safetensors", "state.safetensors"):
            if not (folder / name).is_file():
                raise Head360Error(f"checkpoint '{folder}' lacks {name}; the run cannot be resumed")
        return {**record, "dir": folder}

    def save(
        self,
        step: int,
        write_generator,
        write_state,
        record: dict,
        keep: int = 2,
        expected_bytes: int = 0,
    ) -> Path:
        """Write one checkpoint: ``write_generator(path)``, ``write_state(path)`` into a new step folder,
        then point latest.json at it, refresh RUN/checkpoint.safetensors and drop older step folders
        (the newest ``keep`` stay). Out of disk space (checked first against ``expected_bytes``, and
        caught while writing) -> Head360Error, the previous checkpoint intact."""
        folder = self.root / "checkpoints" / f"step-{step:08d}"
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            free = None
        if free is not None and expected_bytes and free < expected_bytes + (16 << 20):
            self._raise_save_error(OSError(errno.ENOSPC, "No space left on device"))
        # The folder may exist: a step saved again (e.g. to record a finished stage) or the leftovers of
        # a save that was killed. Its files are replaced one by one, each atomically, and it is never
        # deleted while latest.json names it.
        is_latest = self._latest_dir() == folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_generator(folder / "generator.safetensors")
            write_state(folder / "state.safetensors")
            write_json(self.latest_path, {**record, "dir": str(folder.relative_to(self.root))}, indent=1)
        except Exception as e:
            if not is_latest:
                shutil.rmtree(folder, ignore_errors=True)
            error = _as_disk_error(e)
            if error is not None:
                self._raise_save_error(error)
            raise
        try:
            self._publish(folder / "generator.safetensors")
        except OSError as e:
            self._raise_save_error(e)
        self._prune(keep, current=folder)
        return folder

    def _latest_dir(self) -> Path | None:
        try:
            return self.root / json.loads(self.latest_path.read_text())["dir"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            return None

    def _raise_save_error(self, e: OSError):
        previous = ""
        if self.latest_path.is_file():
            try:
                previous = f"; the previous checkpoint ({json.loads(self.latest_path.read_text())['dir']}) is intact"
            except (OSError, json.JSONDecodeError, KeyError):
                previous = ""
        if _no_space(e):
            raise Head360Error(
                f"out of disk space while saving a checkpoint in '{self.root}'{previous}: free some space and "
                "continue with --resume"
            ) from e
        raise Head360Error(f"cannot save a checkpoint in '{self.root}' ({e.strerror or e}){previous}") from e

    def _publish(self, generator_file: Path) -> None:
        """RUN/checkpoint.safetensors := the new generator file (hard link, else a copy), atomically."""
        with atomic_path(self.checkpoint_path) as tmp:
            tmp.unlink()
            try:
                os.link(generator_file, tmp)
            except OSError:
                shutil.copyfile(generator_file, tmp)

    def _prune(self, keep: int, current: Path) -> None:
        """Keep ``current`` and the newest older folders (``keep`` in all); folders of later steps are
        leftovers of a run that was killed and resumed from an earlier checkpoint: removed."""
        folders = sorted(f for f in (self.root / "checkpoints").glob("step-*") if f.is_dir())
        older = [f for f in folders if f.name < current.name]
        stale = [f for f in folders if f.name > current.name]
        for f in stale + (older[: max(0, len(older) - (keep - 1))] if keep > 0 else older):
            shutil.rmtree(f, ignore_errors=True)


def save_state_file(path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    """Serialise in memory, then write with plain file I/O (so a full disk raises OSError ENOSPC)."""
    from safetensors.torch import save

    meta = {"format": STATE_FORMAT, "state": json.dumps(state)}
    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata=meta)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def load_state_file(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except Exception as e:  # safetensors raises several types for damaged files
        raise Head360Error(f"training state '{path}' is damaged ({type(e).__name__}); the run cannot be resumed") from e
    if meta.get("format") != STATE_FORMAT:
        raise Head360Error(f"'{path}' is not a Head360 training state (format {meta.get('format')!r})")
    try:
        return tensors, json.loads(meta["state"])
    except (KeyError, json.JSONDecodeError) as e:
        raise Head360Error(f"training state '{path}' has a damaged header; the run cannot be resumed") from e


def prefixed(prefix: str, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}/{k}": v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    p = prefix + "/"
    return {k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)}
