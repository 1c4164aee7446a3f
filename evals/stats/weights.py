"""Item weights for agreement coefficients: the point estimate and bootstrap resamples.

Every coefficient in ``evals.stats.agreement`` is a function of item weights, asking only
for weighted sums over items. ``Recording`` (all ones) gives the point estimate and
remembers the sums asked for; ``Plan`` stacks them into one matrix so that each
block of bootstrap resamples (``Resampler``) needs one matrix product.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import sparse

DEFAULT_BOOTSTRAP = 1000
CHUNK = 64  # bootstrap resamples per block: bounds memory at CHUNK x items floats
CACHE_CELLS = 16_000_000
STACK_COLUMNS = 64


class Weights:
    """Item weights for a block of resamples (rows) over items (columns).

    Every coefficient asks only for weighted sums over items: ``dot`` (a vector per
    item) and ``counts`` (a matrix per item, such as value counts). The point
    estimate records what is asked (``Recording``); the bootstrap then computes all
    of it with one matrix product per block of resamples (``Plan``), reading the
    resample weights once instead of once per sum.
    """

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix
        self.rows = matrix.shape[0]

    def dot(self, x: np.ndarray) -> np.ndarray:
        return self.matrix @ x

    def counts(self, M: sparse.spmatrix) -> np.ndarray:
        return np.asarray((M.T @ self.matrix.T).T)


def as_weights(W: np.ndarray | Weights) -> Weights:
    return W if isinstance(W, Weights) else Weights(np.atleast_2d(W))


class Recording(Weights):
    """All-ones weights (the point estimate) that remember every sum asked for."""

    def __init__(self, n_items: int):
        super().__init__(np.ones((1, n_items)))
        self.asked: list[Any] = []

    def dot(self, x: np.ndarray) -> np.ndarray:
        self.asked.append(x)
        return np.array([x.sum()])

    def counts(self, M: sparse.spmatrix) -> np.ndarray:
        self.asked.append(M)
        return np.asarray(M.sum(axis=0)).reshape(1, -1)


class Plan:
    """The sums a set of coefficients needs, stacked into one items x K matrix.

    With ``columns`` (this set's items as positions among ``n_total`` items) the
    stacked sums are laid out over all ``n_total`` items, zero elsewhere, so the
    resample weights of the whole queue are used as they are, without copying.
    """

    def __init__(
        self,
        asked: list[Any],
        n_items: int,
        columns: np.ndarray | None = None,
        n_total: int | None = None,
    ):
        spread = None
        if columns is not None:
            n_total = n_total or int(columns.max()) + 1
            spread = sparse.csr_matrix(
                (np.ones(len(columns)), (columns, np.arange(len(columns)))),
                shape=(n_total, n_items),
            )
        stacked_columns, self.layout, self.sparse = [], [], []
        width = 0
        for entry in asked:
            matrix = (
                sparse.csr_matrix(entry.reshape(-1, 1)) if isinstance(entry, np.ndarray) else entry
            )
            if spread is not None:
                matrix = spread @ matrix
            if matrix.shape[1] <= STACK_COLUMNS:
                stacked_columns.append(matrix.toarray())
                kind = "vector" if isinstance(entry, np.ndarray) else "matrix"
                self.layout.append((kind, width, width + matrix.shape[1]))
                width += matrix.shape[1]
            else:
                self.layout.append(("sparse", len(self.sparse), 0))
                self.sparse.append(sparse.csr_matrix(matrix))
        rows = n_total if spread is not None else n_items
        stacked = np.hstack(stacked_columns) if stacked_columns else np.zeros((rows, 0))
        # Resample sums need no 1e-9 precision (the point estimate is exact float64).
        self.stacked = stacked.astype(np.float32)

    def replay(self, matrix: np.ndarray) -> Replay:
        return Replay(matrix, self)


class Replay(Weights):
    """Resample weights answering the recorded sums, in order, from one matrix product."""

    def __init__(self, matrix: np.ndarray, plan: Plan):
        super().__init__(matrix)
        self.plan = plan
        self.products = (matrix.astype(np.float32, copy=False) @ plan.stacked).astype(np.float64)
        self.position = 0
        self.sparse_cache: dict[int, np.ndarray] = {}

    def _next(self) -> tuple:
        entry = self.plan.layout[self.position % len(self.plan.layout)]
        self.position += 1
        return entry

    def dot(self, x: np.ndarray) -> np.ndarray:
        _, start, _ = self._next()
        return self.products[:, start]

    def counts(self, M: sparse.spmatrix) -> np.ndarray:
        kind, start, stop = self._next()
        if kind == "matrix":
            return self.products[:, start:stop]
        if start not in self.sparse_cache:
            self.sparse_cache[start] = super().counts(self.plan.sparse[start])
        return self.sparse_cache[start]


class Resampler:
    """Bootstrap resamples of a set of items, as weight matrices (resamples x items).

    Built once over a queue's items, it can serve any subset of them (a cohort, a
    criterion) so that every coefficient of a report sees the same resamples.
    """

    def __init__(self, n_items: int, resamples: int = DEFAULT_BOOTSTRAP, seed: int = 0):
        self.n_items = n_items
        self.resamples = resamples
        self.seed = seed

    def chunks(self, columns: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Float weight blocks (at most CHUNK resamples x items), the same on every call."""
        if columns is not None and _is_identity(columns, self.n_items):
            columns = None  # every item: no copy needed
        cache = self._cached()
        if cache is not None:
            for start in range(0, self.resamples, CHUNK):
                block = cache[start : start + CHUNK]
                yield block if columns is None else block[:, columns]
            return
        for block in self._generate():
            yield (block if columns is None else block[:, columns]).astype(np.float32)

    def _generate(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        done = 0
        while done < self.resamples:
            b = min(CHUNK, self.resamples - done)
            draws = rng.integers(0, self.n_items, size=(b, self.n_items))
            offsets = (np.arange(b) * self.n_items)[:, None]
            W = np.bincount((draws + offsets).ravel(), minlength=b * self.n_items)
            yield W.reshape(b, self.n_items).astype(np.uint16)
            done += b

    def _cached(self) -> np.ndarray | None:
        """Keep the resamples (as float32) when they fit in about 64 MB."""
        if self.resamples * self.n_items > CACHE_CELLS:
            return None
        if getattr(self, "_cache", None) is None:
            blocks = list(self._generate())
            self._cache = (
                np.concatenate(blocks).astype(np.float32)
                if blocks
                else np.zeros((0, self.n_items), dtype=np.float32)
            )
        return self._cache


def _is_identity(columns: np.ndarray, n_items: int) -> bool:
    return len(columns) == n_items and bool((columns == np.arange(n_items)).all())
