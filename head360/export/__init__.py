"""Exports: full-head meshes (marching cubes) and turntable videos."""
