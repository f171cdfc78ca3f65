from tests.model.conftest import mesh_model, tiny_checkpoint  # noqa: F401  (shared fixtures)
