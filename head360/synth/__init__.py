"""The synthetic data factory: procedural subjects (identity, appearance, hairstyle), the dataset
writer behind `main.py synth`, and the importer for artist meshes."""
