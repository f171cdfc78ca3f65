"""The Head360 generator: texture generator, mesh -> UV rasterizer, dual hex-planes, decoder, volume
renderer, super-resolution, discriminators, RefineNet (see :mod:`head360.model.generator`).

Light on purpose: import the submodules you need (they import torch)."""
