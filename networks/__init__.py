"""Wiring: graph builders, validation, compilation to arrays, engines and oracles."""
