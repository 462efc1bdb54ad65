"""Sweeps: the product of parameter lists × seeds on any executor, and their results."""
