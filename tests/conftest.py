"""Hypothesis profiles and shared fixtures.

``HYPOTHESIS_PROFILE=ci`` (what ``.ci/run`` sets) is derandomized with no deadline;
``dev`` is the fast default for local runs.
"""

import os

from hypothesis import HealthCheck
from hypothesis import settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
