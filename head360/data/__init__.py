"""Datasets: the on-disk reader and the online (render-on-the-fly) dataset, one interface."""
