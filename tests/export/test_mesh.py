import numpy as np
import pytest
import torch

from head360.cameras import HEAD_BOX_HALF
from head360.errors import Head360Error
from head360.export.mesh import (
    density_grid,
    extract_mesh,
    grid_coordinates,
    load_mesh_counts,
    save_mesh,
)


def test_fast_density_grid_equals_the_field(generator, planes):
    n = 12
    grid = density_grid(generator, planes, n)
    c = torch.as_tensor(grid_coordinates(n))
    gx, gy, gz = torch.meshgrid(c, c, c, indexing="ij")
    with torch.no_grad():
        ref = generator.density(planes, torch.stack([gx, gy, gz], -1).reshape(1, -1, 3)).reshape(n, n, n)
    np.testing.assert_allclose(grid, ref.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb"])
def test_exported_mesh_reloads_with_same_counts_inside_the_box(generator, planes, tmp_path, suffix):
    dens = density_grid(generator, planes, 32)
    iso = float(np.percentile(dens, 60))
    mesh = extract_mesh(generator, planes, 32, iso)
    assert len(mesh.faces) > 100 and mesh.colors.shape == mesh.vertices.shape
    out = tmp_path / f"head{suffix}"
    save_mesh(mesh, out)
    nv, nf, bounds = load_mesh_counts(out)
    assert (nv, nf) == (len(mesh.vertices), len(mesh.faces))
    assert (bounds >= -HEAD_BOX_HALF - 1e-4).all() and (bounds <= HEAD_BOX_HALF + 1e-4).all()
    if suffix == ".obj":
        first = next(line for line in out.read_text().splitlines() if line.startswith("v "))
        assert len(first.split()) == 7  # x y z r g b


def test_hair_changes_the_mesh_and_decimation_keeps_about_the_fraction(generator, planes):
    dens = density_grid(generator, planes, 24)
    iso = float(np.percentile(dens, 60))
    with_hair = extract_mesh(generator, planes, 24, iso, hair=True)
    bald = extract_mesh(generator, planes, 24, iso, hair=False)
    assert len(with_hair.faces) != len(bald.faces) or not np.allclose(with_hair.vertices, bald.vertices)
    small = extract_mesh(generator, planes, 24, iso, decimate=0.3)
    ratio = len(small.faces) / len(with_hair.faces)
    assert 0.15 < ratio < 0.45
    assert small.faces.max() < len(small.vertices)
    assert (small.faces[:, 0] != small.faces[:, 1]).all()


def test_iso_outside_the_field_and_bad_arguments_are_user_errors(generator, planes, tmp_path):
    with pytest.raises(Head360Error, match="never crosses iso"):
        extract_mesh(generator, planes, 16, iso=1e6)
    with pytest.raises(Head360Error, match="decimate"):
        extract_mesh(generator, planes, 16, iso=1.0, decimate=1.5)
    dens = density_grid(generator, planes, 16)
    mesh = extract_mesh(generator, planes, 16, float(np.median(dens)))
    with pytest.raises(Head360Error, match="mesh files can be"):
        save_mesh(mesh, tmp_path / "head.stl")


def test_mesh_vertices_lie_on_the_iso_surface_of_the_field(generator, planes):
    dens = density_grid(generator, planes, 40)
    iso = float(np.percentile(dens, 50))
    mesh = extract_mesh(generator, planes, 40, iso)
    with torch.no_grad():
        at_vertices = generator.density(planes, torch.as_tensor(mesh.vertices)[None])[0, :, 0].numpy()
        # the same points with x and z swapped: a wrong axis order would look like this
        swapped = generator.density(planes, torch.as_tensor(mesh.vertices[:, ::-1].copy())[None])[0, :, 0].numpy()
    spread = float(np.percentile(dens, 90) - np.percentile(dens, 10))
    err = np.abs(at_vertices - iso)
    assert np.median(err) < 0.02 * spread
    assert np.median(np.abs(swapped - iso)) > 3 * np.median(err)
    assert mesh.iso == iso


def test_skipping_empty_space_gives_the_same_grid_where_it_matters(generator, planes):
    full = density_grid(generator, planes, 32)
    generator.config.renderer.occupancy_threshold = float(np.percentile(full, 60))
    planes._occupancy.clear()
    skipped = density_grid(generator, planes, 32, skip_empty=True)
    level = 2.0 * generator.config.renderer.occupancy_threshold
    assert (skipped < full).any()  # something was skipped...
    np.testing.assert_allclose(skipped[full > level], full[full > level], rtol=1e-5)  # ...but nothing dense
    assert (skipped[full <= level] <= level).all()
