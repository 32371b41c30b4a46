"""Figure scripts: one module per figure family, each reading saved grids.

Scripts never simulate. ``python -m figures`` regenerates every figure from the newest
saved grids under ``results/``; ``python -m figures.<name> GRID.nc`` draws one module's
figures from one grid. Shared style and helpers live in :mod:`figures._style`.
"""
