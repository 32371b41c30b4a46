"""Tests of :mod:`sims.neural_collapse`, one module per experiment."""
