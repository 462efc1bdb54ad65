"""Experiment configs: the schema (:mod:`runs.config.schema`), loading and validation."""

from runs.config.load import Config, apply_point, load_config, validate_config
from runs.config.schema import SCHEMA, Key, dataclass_validator, derive_seeds

__all__ = ["SCHEMA", "Config", "Key", "apply_point", "dataclass_validator", "derive_seeds",
           "load_config", "validate_config"]
