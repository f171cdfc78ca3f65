"""Which torch device a ``--device`` choice means: the one place that decides (CLI, studio, benches)."""

from __future__ import annotations

from head360.errors import Head360Error


def resolve_device(name: str):
    """``auto`` (CUDA when torch sees a GPU, else the CPU), ``cpu``, ``cuda`` or ``cuda:N`` ->
    ``torch.device``; CUDA asked for where there is none, or another name, raises Head360Error."""
    import torch

    name = name.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise Head360Error("--device cuda asked for, but torch sees no CUDA GPU here; use --device cpu")
        return torch.device(name)
    if name != "cpu":
        raise Head360Error(f"--device must be auto, cpu or cuda, got '{name}'")
    return torch.device("cpu")
