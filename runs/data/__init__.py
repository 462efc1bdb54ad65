"""Data: built-in datasets and input streams for delayed networks."""
