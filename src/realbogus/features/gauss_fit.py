"""Least-squares fit of a round 2-D Gaussian (the GAUSS, AMP and SCALE features).

A cached grid search followed by a few hand-written Levenberg-Marquardt steps with the
analytic Jacobian: the model has four parameters and at most 15x15 pixels, so scipy's
general solvers would spend most of their time in Python overhead (the simulator needs
the whole feature set in ~1.5 ms).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# The scale is fitted as log(sigma) so it stays positive; these bounds keep it physical
# for a 51x51 stamp (a third of a pixel up to most of the stamp).
_MIN_SIGMA_PX = 0.3
_MAX_SIGMA_PX = 20.0
# The peak may exceed the brightest fitted pixel (a narrow PSF centred between pixels), but
# not by more than this factor.  Without the bound a fit to a few usable pixels far from
# the centre (a mostly masked cutout) drives the amplitude towards infinity while the
# model at the pixels stays finite: seen on the simulated release as AMP ~ 1e48.
_MAX_AMPLITUDE_OVER_DATA = 20.0


@dataclass(frozen=True)
class RoundGaussianFit:
    """Result of fitting ``amplitude * exp(-r^2 / (2 sigma^2))``.

    amplitude: peak value, in the units of the fitted image.
    sigma_px: Gaussian scale sigma in pixels.
    residual_sum_of_squares: sum over fitted pixels of (model - data)^2 (unit weights).
    x_centre, y_centre: fitted centre in stamp pixel coordinates.
    """

    amplitude: float
    sigma_px: float
    residual_sum_of_squares: float
    x_centre: float
    y_centre: float


# The coarse grid the fit starts from: centre offsets along each axis and log-spaced
# scales.  Every grid model shares the cutout's pixel positions, so the whole grid is one
# cached matrix and scoring it is a single matrix-vector product.
_GRID_CENTRE_OFFSETS = (-0.5, 0.0, 0.5)
_GRID_SIGMAS = np.geomspace(_MIN_SIGMA_PX, 12.0, 32)


@functools.lru_cache(maxsize=8)
def _grid_models(half_width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parameters (K, 3): x offset, y offset, sigma; unit-peak models (K, P); their
    squared norms (K,)) on the (2*half_width+1)^2 cutout, pixels in row-major order.
    Cached, read-only."""
    offsets = np.arange(-half_width, half_width + 1, dtype=np.float64)
    ys, xs = np.meshgrid(offsets, offsets, indexing="ij")
    parameters = np.array([
        (dx, dy, sigma)
        for dx in _GRID_CENTRE_OFFSETS for dy in _GRID_CENTRE_OFFSETS for sigma in _GRID_SIGMAS
    ])
    r2 = (xs.ravel()[None, :] - parameters[:, :1]) ** 2 + (ys.ravel()[None, :] - parameters[:, 1:2]) ** 2
    models = np.exp(-0.5 * r2 / parameters[:, 2:3] ** 2)
    norms = np.einsum("kp,kp->k", models, models)
    for array in (parameters, models, norms):
        array.flags.writeable = False
    return parameters, models, norms


def fit_round_gaussian(
    image: np.ndarray,
    *,
    x_centre: float,
    y_centre: float,
    half_width: int,
    max_centre_shift: float = 0.5,
    max_iterations: int = 4,
) -> RoundGaussianFit | None:
    """Fit a round Gaussian to the (2*half_width+1)^2 cutout of ``image`` at the centre.

    image: (H, W) float array; NaN pixels are left out of the fit.  The cutout must lie
        inside the image.
    x_centre, y_centre: integer-valued pixel the cutout is centred on; the fitted centre
        may move at most ``max_centre_shift`` pixels from it along each axis (the
        detection is known to sit there).
    The best model on a coarse grid of centres and scales (amplitude solved exactly for
    each) starts a few Levenberg-Marquardt steps, so the fit neither depends on a
    starting guess nor pays for a long descent: from the grid, one or two steps already
    reach the optimum to 1e-3 on DES-like stamps (benchmarks/bench_features.py scenes).
    Returns None when fewer than 5 pixels are usable.
    """
    row_centre, column_centre = int(round(y_centre)), int(round(x_centre))
    if not (half_width <= row_centre < image.shape[0] - half_width
            and half_width <= column_centre < image.shape[1] - half_width):
        raise ValueError(
            f"a {2 * half_width + 1}-pixel cutout at ({x_centre}, {y_centre}) "
            f"does not fit in an image of shape {image.shape}"
        )
    cutout = image[row_centre - half_width : row_centre + half_width + 1,
                   column_centre - half_width : column_centre + half_width + 1].ravel()
    usable = np.isfinite(cutout)
    data = cutout[usable]
    if data.size < 5:
        return None
    grid_parameters, grid_models, norms = _grid_models(half_width)
    if data.size < cutout.size:
        grid_models = grid_models[:, usable]
        norms = np.einsum("kp,kp->k", grid_models, grid_models)
    # For a fixed shape g the best amplitude is (g.d)/(g.g) and the cost drops by
    # (g.d)^2/(g.g): score every grid shape at once.
    projections = grid_models @ data
    best = int(np.argmax(projections * projections / norms))
    offsets = np.arange(-half_width, half_width + 1, dtype=np.float64)
    ys, xs = np.meshgrid(offsets + row_centre, offsets + column_centre, indexing="ij")
    xs, ys = xs.ravel()[usable], ys.ravel()[usable]

    params = np.array([
        column_centre + grid_parameters[best, 0],
        row_centre + grid_parameters[best, 1],
        projections[best] / norms[best],
        np.log(grid_parameters[best, 2]),
    ])
    amplitude_limit = _MAX_AMPLITUDE_OVER_DATA * max(float(np.max(np.abs(data))), np.finfo(np.float64).tiny)
    params[2] = np.clip(params[2], -amplitude_limit, amplitude_limit)
    low = np.array([x_centre - max_centre_shift, y_centre - max_centre_shift, -amplitude_limit,
                    np.log(_MIN_SIGMA_PX)])
    high = np.array([x_centre + max_centre_shift, y_centre + max_centre_shift, amplitude_limit,
                     np.log(_MAX_SIGMA_PX)])

    def residuals_and_jacobian(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx = xs - p[0]
        dy = ys - p[1]
        inverse_variance = np.exp(-2.0 * p[3])
        r2 = dx * dx + dy * dy
        shape = np.exp(-0.5 * r2 * inverse_variance)
        model = p[2] * shape
        jacobian = np.empty((4, data.size))
        np.multiply(model * inverse_variance, dx, out=jacobian[0])
        np.multiply(model * inverse_variance, dy, out=jacobian[1])
        jacobian[2] = shape
        np.multiply(model * inverse_variance, r2, out=jacobian[3])  # d model / d log(sigma)
        return model - data, jacobian

    residual, jacobian = residuals_and_jacobian(params)
    cost = float(residual @ residual)
    damping = 1e-3
    for _ in range(max_iterations):
        normal = jacobian @ jacobian.T
        gradient = jacobian @ residual
        # Marquardt scaling: damp each parameter by its own curvature, plus a floor so a
        # parameter with zero curvature (zero amplitude) cannot make the system singular.
        diagonal = normal.diagonal().copy()
        normal[np.diag_indices(4)] += damping * diagonal + 1e-12
        try:
            step = np.linalg.solve(normal, -gradient)
        except np.linalg.LinAlgError:
            break
        trial = np.clip(params + step, low, high)
        trial_residual, trial_jacobian = residuals_and_jacobian(trial)
        trial_cost = float(trial_residual @ trial_residual)
        if np.isfinite(trial_cost) and trial_cost < cost:
            improvement = cost - trial_cost
            params, residual, jacobian, cost = trial, trial_residual, trial_jacobian, trial_cost
            damping = max(damping / 3.0, 1e-9)
            # The features need ~3 significant digits, not machine precision.
            if improvement <= 1e-6 * cost:
                break
        else:
            damping *= 10.0
            if damping > 1e6:
                break
    return RoundGaussianFit(
        amplitude=float(params[2]),
        sigma_px=float(np.exp(params[3])),
        residual_sum_of_squares=cost,
        x_centre=float(params[0]),
        y_centre=float(params[1]),
    )
