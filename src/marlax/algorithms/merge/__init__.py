"""Merged models: several trained runs' parameters averaged into one run (`marlax merge`)."""
