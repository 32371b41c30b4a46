"""Tests of :mod:`sims.selu`, one module per experiment."""
