"""The numpy log-link GLM gives statsmodels' coefficients (it replaces sm.GLM for speed only)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from analytics.glm import fit_log_glm


def design(days: int = 731, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Intercept, weekday dummies, a yearly sine and a promotion flag; counts from a NB2 with
    alpha 0.4 around exp(x @ beta)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    weekday = np.eye(7)[t % 7][:, 1:]
    promo = (rng.random(days) < 0.1).astype(float)
    x = np.column_stack([np.ones(days), weekday, np.sin(2 * np.pi * t / 365.25), promo])
    beta = np.array([0.8, 0.1, 0.0, 0.2, 0.3, 0.6, -0.2, 0.4, 0.7])
    mu = np.exp(x @ beta)
    r = 1 / 0.4
    y = rng.negative_binomial(r, r / (r + mu)).astype(float)
    return x, y


@pytest.mark.parametrize("alpha", [0.0, 0.4])
def test_fit_log_glm_equals_statsmodels_glm(alpha: float) -> None:
    x, y = design()
    family = sm.families.Poisson() if alpha == 0 else sm.families.NegativeBinomial(alpha=alpha)
    expected = sm.GLM(y, x, family=family).fit(tol=1e-12).params
    np.testing.assert_allclose(fit_log_glm(x, y, alpha=alpha, tol=1e-12), expected, atol=1e-6)


def test_fit_log_glm_recovers_the_promotion_effect() -> None:
    x, y = design(days=5000, seed=4)
    beta = fit_log_glm(x, y, alpha=0.4)
    assert beta[-1] == pytest.approx(0.7, abs=0.08)
