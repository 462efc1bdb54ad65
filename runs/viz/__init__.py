"""Plots (matplotlib Figures, backend untouched) and the report of a results folder."""
