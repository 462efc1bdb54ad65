"""Plots and reports (files, Agg backend)."""
