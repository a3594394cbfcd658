"""Tests for mean-field subsample Q-learning."""
