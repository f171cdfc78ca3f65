"""Training of the Head360 generator: the three stages of the method (full network; hair detachment;
RefineNet), losses, crash-safe checkpoints with exact resume, progress logs, evaluation, and
distributed training under torchrun. ``main.py train`` / ``main.py eval`` are thin wrappers over
:func:`head360.train.trainer.train` and :func:`head360.train.evaluate.evaluate`."""
