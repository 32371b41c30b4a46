"""The living reproduction report: ``python -m sims.report --preset smoke``.

One file per simulation module (:mod:`sims.report.rf_risk`, ...) declares that
module's theory-vs-simulation claims; :mod:`sims.report.__main__` runs the grids they
need, writes ``docs/reproduction.md`` and exits non-zero when a claim fails.
"""
