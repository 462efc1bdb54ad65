"""Methods: a rule plus how it is trained (presentation, parameters, metrics)."""
