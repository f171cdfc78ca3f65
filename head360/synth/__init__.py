"""The data factory: procedural subjects (identity, appearance, hairstyle) and the dataset writer."""
