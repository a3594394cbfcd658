"""Tests for marlax.algorithms."""
