"""Distributed training as torchrun starts it: ``torchrun --nproc_per_node N main.py train ...`` (and
across nodes with ``--nnodes``/``--rdzv-endpoint``). Each process reads ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` from the environment; NCCL on GPUs, gloo on the CPU. Without those variables training
runs in one process and nothing here does any communication.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch

from head360.errors import Head360Error


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # --- collectives (no-ops in a single process) ----------------------------------------------
    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def any_flag(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is True on any rank (one tiny all-reduce)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def any_flags(self, flags: list[bool]) -> list[bool]:
        """Element-wise OR of boolean flags over all ranks (one tiny all-reduce)."""
        if not self.enabled:
            return list(flags)
        t = torch.tensor([1.0 if f else 0.0 for f in flags], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return [bool(x > 0) for x in t.tolist()]

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """Average a tensor over ranks (in place on a copy)."""
        if not self.enabled:
            return values
        values = values.clone()
        torch.distributed.all_reduce(values)
        return values / self.world

    def gather_strings(self, text: str) -> list[str]:
        if not self.enabled:
            return [text]
        out: list = [None] * self.world
        torch.distributed.all_gather_object(out, text)
        return [str(x) for x in out]

    def shutdown(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def init_distributed(device: str) -> DistContext:
    """Set up the process group when torchrun started us; pick this process's device.

    device: "cpu", "cuda" or "auto" (CUDA when available)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise Head360Error(f"--device must be cpu or cuda, got '{device}'")
    if device == "cuda" and not torch.cuda.is_available():
        raise Head360Error("--device cuda was asked for but this machine has no usable CUDA GPU; use --device cpu")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise Head360Error(
                f"local rank {local_rank} has no GPU (this node has {torch.cuda.device_count()}); "
                "start at most one process per GPU (torchrun --nproc_per_node)"
            )
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    ctx = DistContext(rank=rank, world=world, local_rank=local_rank, device=dev)
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        kwargs = {"device_id": dev} if dev.type == "cuda" else {}
        torch.distributed.init_process_group(backend=backend, **kwargs)
    return ctx


def parameters_digest(modules: list[torch.nn.Module]) -> str:
    """SHA-256 of all parameters and buffers (bytes on the CPU): equal digests mean identical weights."""
    h = hashlib.sha256()
    for m in modules:
        for name, t in list(m.named_parameters()) + list(m.named_buffers()):
            h.update(name.encode())
            h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
