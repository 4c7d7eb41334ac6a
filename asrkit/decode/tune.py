"""LM weight and word score search on dev, as wav2vec 2.0 §4.4: "we tune the weights of the
language model (interval [0, 5]) and a word insertion penalty ([-5, 5]) with Bayesian
optimization" (128 trials for the 4-gram).

``method="random"`` draws uniformly. ``method="bayes"`` starts with a few random draws, then
proposes the point of largest expected improvement under a Gaussian process (RBF kernel, length
scale and noise picked by marginal likelihood on a small grid). Plain numpy: two parameters and
tens of trials need nothing heavier. WER is piecewise constant in the weights, hence the noise term.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

METHODS = ("random", "bayes")
_LENGTH_SCALES = (0.05, 0.1, 0.2, 0.35, 0.6, 1.0)  # in the unit square of the two ranges
_NOISES = (1e-6, 1e-3, 1e-2, 0.1)  # relative to the standardised WER variance
_erf = np.vectorize(math.erf)


def tune_lm_weights(decode_fn: Callable[[float, float], float], n_trials: int = 32, *,
                    lm_weight_range: tuple[float, float] = (0.0, 5.0),
                    word_score_range: tuple[float, float] = (-5.0, 5.0), method: str = "random",
                    seed: int = 0, n_init: int | None = None,
                    progress: Callable[[dict], None] | None = None) -> tuple[tuple[float, float], pd.DataFrame]:
    """Minimise ``decode_fn(lm_weight, word_score) -> dev WER`` over the two ranges.

    Returns ``((lm_weight, word_score), trials)``: the best point (the first one on ties) and a
    DataFrame with columns trial, proposer (``random``/``gp``), lm_weight, word_score, wer.
    ``n_init`` random draws precede the GP proposals (default: a quarter of the trials, at
    least 5); ``progress`` receives each trial's row as it finishes.
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r}: choose one of {METHODS}")
    if n_trials < 1:
        raise ValueError("n_trials must be at least 1")
    low = np.array([lm_weight_range[0], word_score_range[0]], dtype=float)
    high = np.array([lm_weight_range[1], word_score_range[1]], dtype=float)
    if np.any(high < low):
        raise ValueError(f"empty range: lm_weight {lm_weight_range}, word_score {word_score_range}")
    n_init = max(5, n_trials // 4) if n_init is None else max(1, n_init)
    rng = np.random.default_rng(seed)
    unit, wers, rows = [], [], []
    for trial in range(n_trials):
        if method == "random" or trial < n_init:
            u, proposer = rng.random(2), "random"
        else:
            u, proposer = _propose(np.array(unit), np.array(wers), rng), "gp"
        lm_weight, word_score = (low + u * (high - low)).tolist()
        wer = float(decode_fn(lm_weight, word_score))
        if not math.isfinite(wer):
            raise ValueError(f"decode_fn returned {wer} at lm_weight={lm_weight}, word_score={word_score}")
        unit.append(u)
        wers.append(wer)
        rows.append({"trial": trial, "proposer": proposer, "lm_weight": lm_weight, "word_score": word_score,
                     "wer": wer})
        if progress:
            progress(rows[-1])
    trials = pd.DataFrame(rows)
    best = trials.loc[trials["wer"].idxmin()]
    return (float(best["lm_weight"]), float(best["word_score"])), trials


def _rbf(a: np.ndarray, b: np.ndarray, length: float) -> np.ndarray:
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.exp(-0.5 * d2 / length**2)


def _fit(x: np.ndarray, y: np.ndarray, length: float, noise: float):
    """Cholesky factor, weights and log marginal likelihood of a unit-variance GP."""
    k = _rbf(x, x, length) + noise * np.eye(len(x))
    chol = np.linalg.cholesky(k)
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
    log_ml = -0.5 * y @ alpha - np.log(np.diag(chol)).sum() - 0.5 * len(x) * math.log(2 * math.pi)
    return chol, alpha, log_ml


def _propose(x: np.ndarray, wer: np.ndarray, rng: np.random.Generator, n_candidates: int = 2048) -> np.ndarray:
    """Next point in the unit square: largest expected improvement (minimisation) under the GP."""
    y = (wer - wer.mean()) / (wer.std() or 1.0)
    fits = []
    for length in _LENGTH_SCALES:
        for noise in _NOISES:
            try:
                fits.append((_fit(x, y, length, noise), length))
            except np.linalg.LinAlgError:
                continue
    if not fits:
        return rng.random(2)
    (chol, alpha, _), length = max(fits, key=lambda f: f[0][2])
    # global draws plus local ones around the best points so far
    best = x[np.argsort(y)[:3]]
    local = best[rng.integers(len(best), size=n_candidates // 4)] + rng.normal(0, 0.05, (n_candidates // 4, 2))
    cand = np.clip(np.vstack([rng.random((n_candidates, 2)), local]), 0.0, 1.0)
    k_star = _rbf(cand, x, length)
    mu = k_star @ alpha
    v = np.linalg.solve(chol, k_star.T)
    sigma = np.sqrt(np.clip(1.0 - (v**2).sum(0), 1e-12, None))
    improvement = y.min() - mu - 0.01
    z = improvement / sigma
    ei = improvement * 0.5 * (1 + _erf(z / math.sqrt(2))) + sigma * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return cand[int(np.argmax(ei))]
