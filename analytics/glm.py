"""Log-link Poisson and negative-binomial GLMs fitted by iteratively reweighted least squares.

The same estimator as statsmodels' `GLM(..., family=Poisson() / NegativeBinomial(alpha))`
(Fisher scoring equals Newton's method for the canonical Poisson link and IRLS for NB2), in a
few lines of numpy: a statsmodels GLM fit costs about 10 ms on two years of days, this one well
under one, which matters when every backtest window refits. Non-finite coefficients or an
overflowing mean raise RuntimeWarning (one of `forecasters.FIT_WARNINGS`), as statsmodels'
warnings would when turned into errors.
"""

from __future__ import annotations

import numpy as np

from analytics.table import Array


def fit_log_glm(
    x: Array,
    y: Array,
    *,
    alpha: float = 0.0,
    start: Array | None = None,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> Array:
    """Coefficients of the log-link GLM of `y` on `x` with Var(y) = mu + alpha mu^2 (Poisson
    when alpha is 0), by IRLS from `start` (log of the mean on the intercept when None) until
    the deviance changes by less than `tol` (relative) or after `max_iter` steps."""
    beta = np.zeros(x.shape[1]) if start is None else start.astype(np.float64).copy()
    if start is None:
        beta[0] = np.log(max(float(np.mean(y)), 1e-3))
    ridge = 1e-10 * np.eye(x.shape[1])
    previous = np.inf
    with np.errstate(over="raise", invalid="raise", divide="ignore", under="ignore"):
        try:
            for _ in range(max_iter):
                eta = x @ beta
                mu = np.exp(eta)
                weight = mu / (1 + alpha * mu)
                working = eta + (y - mu) / mu
                xw = x * weight[:, None]
                beta = np.linalg.solve(xw.T @ x + ridge, xw.T @ working).astype(np.float64)
                deviance = _deviance(y, np.exp(x @ beta), alpha)
                if abs(previous - deviance) <= tol * (abs(deviance) + 1e-3):
                    break
                previous = deviance
        except (FloatingPointError, np.linalg.LinAlgError) as error:
            raise RuntimeWarning(f"the count model did not converge: {error}") from error
    if not np.all(np.isfinite(beta)):
        raise RuntimeWarning("the count model did not converge")
    return beta


def _deviance(y: Array, mu: Array, alpha: float) -> float:
    """The deviance up to terms that do not depend on mu (enough to watch convergence)."""
    if alpha <= 0:
        return float(2 * np.sum(mu - y * np.log(mu)))
    r = 1 / alpha
    return float(2 * np.sum((y + r) * np.log(r + mu) - y * np.log(mu)))
