from tests.model.conftest import generator, mesh_model, tiny_checkpoint  # noqa: F401  (shared fixtures)
