"""Experiments: the registry (:mod:`runs.experiments.registry`) and the built-in ones."""

from runs.experiments.registry import EXPERIMENTS, Experiment, RunOutput, experiment, get_experiment

__all__ = ["EXPERIMENTS", "Experiment", "RunOutput", "experiment", "get_experiment"]
