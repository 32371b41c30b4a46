"""Fixed IFM networks that hypothesis once found, kept as explicit examples."""

from __future__ import annotations

import itertools

import torch


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def cap_binds_before_a_clean_pass() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A 4-7-7-3 MLP on which official IFM at beta = 0.6 merges (4, 5) units in 8
    passes: merges in one layer re-open the other, so the pass cap of the 7-wide
    layers ends the run before a pass that merges nothing (not a fixed point)."""
    w1 = [
        [-1.8071, 2.6620, 0.3210, 0.0582],
        [2.6245, 1.6937, 0.2199, -1.3100],
        [-0.3852, -1.1937, -0.1464, -3.0634],
        [1.3030, -0.6339, 1.4145, 1.8608],
        [0.9023, -1.0228, -0.3928, 2.3858],
        [-0.4983, -1.2217, 0.1447, -0.2565],
        [-1.3119, 0.4598, -0.1413, 0.7491],
    ]
    b1 = [-0.5849, -0.9863, 0.2104, 1.6361, -0.8422, -1.1591, 1.8609]
    w2 = [
        [0.8208, 1.1345, 0.4080, 0.7664, 0.4870, -0.5136, 0.1924],
        [-1.5396, 0.5999, -0.3037, -0.0977, 0.5607, 0.2028, -1.6218],
        [0.9158, -1.3174, 0.0405, 0.0815, 1.3322, -0.6301, -0.2566],
        [-0.1295, -0.1044, -0.0607, -0.0976, -1.7008, 0.3084, 0.9543],
        [0.0598, -1.6430, -1.2125, 1.0532, -0.2283, -0.7648, -1.8077],
        [1.0131, 1.7125, -0.6700, 0.8224, 2.1446, 0.2387, 0.1353],
        [1.0676, -0.3559, 0.7351, -1.7702, 1.3891, -0.7016, -1.2060],
    ]
    b2 = [0.9894, 0.4106, -0.9655, -0.7244, 0.1605, -0.4346, -1.1810]
    w3 = [
        [0.8681, -1.3531, 0.0634, -1.1829, -0.4973, 1.2119, 0.1819],
        [-1.3605, -1.9732, -0.1122, 0.5905, -0.8245, 0.8448, -0.1279],
        [-0.4521, -1.4224, 0.2555, -0.5553, -1.5581, -0.5442, -1.3362],
    ]
    b3 = [0.4008, -1.6003, -0.4438]
    return [(_t(w), _t(b)) for w, b in ((w1, b1), (w2, b2), (w3, b3))]


def bias_only_twins(layers) -> bool:
    """Two units of a hidden layer with equal weight rows and outgoing columns but
    different biases. Official IFM leaves biases out of the distance (as the authors'
    code does), so at beta = 0 it merges such a pair although f changes."""
    for (w, b), (w_next, _) in itertools.pairwise(layers):
        for i in range(w.shape[0]):
            for j in range(i + 1, w.shape[0]):
                same = torch.equal(w[i], w[j]) and torch.equal(
                    w_next[:, i], w_next[:, j]
                )
                if same and b[i] != b[j]:
                    return True
    return False


def bias_only_twins_case() -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int]:
    """A 1-8-1 integer MLP (as ``duplicated_mlp`` draws it) whose units 3 and 7
    differ only in bias: relu(x + 2) + relu(x) becomes 2 relu(x + 1) when merged."""
    w1 = _t([[0.0], [1.0], [0.0], [1.0], [0.0], [0.0], [0.0], [1.0]])
    b1 = _t([0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0])
    w2 = _t([[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]])
    return [(w1, b1), (w2, _t([0.0]))], 4
