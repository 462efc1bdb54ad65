"""Methods: a rule plus an adapter; one training loop, one evaluation, one compare."""
