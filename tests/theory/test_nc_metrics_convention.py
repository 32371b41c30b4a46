"""The two global-mean conventions of the NC metrics (``global_mean=``).

Papyan et al. (2020) and the papers' official code centre the class means on the
sample-weighted global mean; rhubarbwu's neural-collapse library defaults to the
plain mean of the class means. They agree on balanced classes and differ on
imbalanced ones.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import F64_RTOL
from theory import class_means
from theory import nc1
from theory import nc1_tilde
from theory import nc2


def _features(seed: int, sizes) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    K, d = len(sizes), len(sizes) + 3
    centers = rng.normal(size=(d, K)) * 3
    labels = np.repeat(np.arange(K), sizes)
    H = centers[:, labels] + rng.normal(size=(d, labels.size))
    return H, labels


@given(st.integers(0, 10**6), st.integers(3, 6), st.integers(2, 9))
def test_balanced_classes_give_the_same_metrics(seed, K, per_class):
    H, y = _features(seed, [per_class] * K)
    w = class_means(H, y)
    u = class_means(H, y, global_mean="unweighted")
    np.testing.assert_allclose(u.global_mean, w.global_mean, rtol=F64_RTOL, atol=1e-12)
    assert nc1(H, y) == pytest.approx(nc1(H, y, global_mean="unweighted"), F64_RTOL)
    assert nc1_tilde(H, y) == pytest.approx(
        nc1_tilde(H, y, global_mean="unweighted"), F64_RTOL
    )


def test_imbalanced_classes_centre_on_different_means():
    sizes = [200, 100, 50, 50]
    H, y = _features(0, sizes)
    w = class_means(H, y)
    u = class_means(H, y, global_mean="unweighted")
    # weighted: the sample mean; unweighted: the mean of the class means
    np.testing.assert_allclose(w.global_mean, H.mean(axis=1), rtol=F64_RTOL)
    np.testing.assert_allclose(u.global_mean, w.means.mean(axis=1), rtol=F64_RTOL)
    shift = np.linalg.norm(w.global_mean - u.global_mean)
    assert shift > 0.1 * np.linalg.norm(w.means, axis=0).min()
    assert nc2(w.centered) != pytest.approx(nc2(u.centered), rel=1e-3)
    assert nc1_tilde(H, y) != pytest.approx(
        nc1_tilde(H, y, global_mean="unweighted"), rel=1e-6
    )


def test_an_unknown_convention_is_refused():
    H, y = _features(1, [3, 3, 3])
    with pytest.raises(ValueError, match="global_mean"):
        class_means(H, y, global_mean="median")
