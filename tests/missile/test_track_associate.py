"""GNN assignment: the uncontested fast path plus Hungarian equals a brute-force optimum."""

from __future__ import annotations

import numpy as np

from trilink.missile.track.associate import gnn


def _brute(cost: np.ndarray) -> tuple[int, float]:
    """(most pairs, least total cost among those) over every one-to-one matching of finite
    entries."""
    n_r, n_c = cost.shape
    best = (0, 0.0)

    def walk(r: int, used: frozenset[int], n: int, total: float) -> None:
        nonlocal best
        if r == n_r:
            if n > best[0] or (n == best[0] and total < best[1]):
                best = (n, total)
            return
        walk(r + 1, used, n, total)
        for c in range(n_c):
            if c not in used and np.isfinite(cost[r, c]):
                walk(r + 1, used | {c}, n + 1, total + float(cost[r, c]))

    walk(0, frozenset(), 0, 0.0)
    return best


def test_gnn_matches_brute_force_on_sparse_gated_costs() -> None:
    rng = np.random.default_rng(4)
    for _ in range(300):
        n_r, n_c = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        cost = rng.uniform(-3.0, 10.0, (n_r, n_c))
        cost[rng.random((n_r, n_c)) < 0.6] = np.inf
        pairs = gnn(cost)
        assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
        assert all(np.isfinite(cost[r, c]) for r, c in pairs)
        n_best, c_best = _brute(cost)
        assert len(pairs) == n_best
        assert (
            sum(float(cost[r, c]) for r, c in pairs) == np.float64(c_best)
            or abs(sum(float(cost[r, c]) for r, c in pairs) - c_best) < 1e-9
        )


def test_gnn_fast_path_and_contested_pair() -> None:
    inf = np.inf
    cost = np.array(
        [
            [1.0, inf, inf, inf],
            [inf, 2.0, 0.5, inf],
            [inf, 0.1, inf, inf],
            [inf, inf, inf, inf],
        ]
    )
    # row 0 is uncontested; rows 1 and 2 compete for column 1: optimum 1->2, 2->1 (0.6)
    assert sorted(gnn(cost)) == [(0, 0), (1, 2), (2, 1)]
    assert gnn(np.full((3, 2), inf)) == []
    assert gnn(np.zeros((0, 4))) == []
