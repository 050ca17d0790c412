"""The PSF-matching kernel as difference imaging fits it (Alard & Lupton 1998, HOTPANTS).

DES-SN's DiffImg subtracts with HOTPANTS (Kessler et al. 2015), which does not know the
PSF ratio: it fits the kernel K with ``K * convolved ~= target`` by least squares over small
substamps around stars, K being a sum of Gaussians times polynomials.  Two consequences a
real difference image shows and an exact PSF ratio does not:

* the basis cannot follow a Moffat ratio exactly, so even perfectly modelled stars leave a
  small residual, and the kernel's wings carry the polynomials' faint oscillations;
* the stars the fit uses carry the convolved image's noise.  A least-squares fit whose
  input image is noisy is biased towards a small kernel wherever the stars' signal is
  below that noise (errors in variables): in Fourier space the fit minimises
  ``sum_f |b_f - K_f s_f|^2 + lambda |K_f|^2`` with lambda = the substamps' noise power
  over the stars' squared flux.  This is what keeps a fitted kernel from amplifying the
  high frequencies where the convolved image's PSF has no power (it bounds how far a
  kernel that sharpens can go), and it sets how much of the convolved image's fine noise
  the difference keeps.

The fit's random error (a few tens of stars, each with both images' noise, pin down the
coefficients) is not drawn: drawn, it left a perfectly modelled star a residual of at most
0.14 % of its peak (p90) and moved the kernel's centre by 0.006 px (docs/simulation.md,
twelfth pass), far below the PSF-model errors the simulator draws.

The fit here runs on the modelled PSFs of one detection (their width, shape and scale
errors are the drawn kernel errors at the source, ``scene._subtraction``), over the whole
canvas: by Parseval a pixel-space fit over one star's substamp and this Fourier-space fit
are the same sum.  The basis, the kernel's and substamps' sizes and the stars' threshold
are HOTPANTS's defaults (its ``defaults.h``): DES's own settings are not published.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from realbogus.simulate.psf import GRID, _wrapped_offsets, moffat_peak, rfft2

# HOTPANTS's default basis: Gaussians of sigma 0.7, 1.5 and 3.0 px times every polynomial
# u^i v^j of degree i + j <= 6, 4 and 2: 28 + 15 + 6 = 49 functions.
BASIS_GAUSSIANS: tuple[tuple[float, int], ...] = ((0.7, 6), (1.5, 4), (3.0, 2))
KERNEL_HALF_WIDTH = 10       # px: the kernel is 21 x 21 (HOTPANTS -r)
SUBSTAMP_HALF_WIDTH = 15     # px: each star's fitting substamp is 31 x 31 (HOTPANTS -rss)
FIT_THRESHOLD_SIGMA = 20.0   # a star enters the fit if its peak is this many sky sigmas up (HOTPANTS -ft)


@dataclass(frozen=True)
class _Solver:
    """The normal equations' fixed parts for one set of basis functions, as real arrays.

    ``parts`` holds each function's transform as real numbers (real parts, then imaginary
    parts where they have any), ``weights`` the rfft2 half plane's weights to match, so
    that Re(conj(a) W b) of two transforms is a plain dot product of their parts.
    """

    transforms: np.ndarray        # (n, GRID * (GRID // 2 + 1)): the functions' transforms, flattened
    parts: np.ndarray             # (n, m)
    weights: np.ndarray           # (m,)
    gram: np.ndarray              # the penalty's matrix, Re(rest^H W rest)
    first_term: np.ndarray        # the penalty's linear term, Re(rest^H W first)


@dataclass(frozen=True)
class _Basis:
    """The basis as transforms, constrained to a unit-sum kernel as HOTPANTS constrains it.

    ``first`` is the first function normalised to unit sum; every other function with a
    non-zero sum becomes (itself normalised) minus ``first``, so any combination
    ``first + sum c_n rest_n`` sums to one: the photometric scale stays a separate fitted
    number (``scene._Subtraction.scale``), as in HOTPANTS.
    """

    first: np.ndarray             # (GRID, GRID // 2 + 1), real: the first function is symmetric
    full: _Solver                 # every other function, for any pair of PSFs
    even: _Solver                 # the point-symmetric ones (i + j even), for point-symmetric PSFs


def _solver(transforms: np.ndarray, first: np.ndarray, weights: np.ndarray, *, real: bool) -> _Solver:
    parts = transforms.real if real else np.concatenate([transforms.real, transforms.imag], axis=1)
    part_weights = weights if real else np.concatenate([weights, weights])
    weighted = transforms.conj() * weights
    return _Solver(transforms=transforms, parts=np.ascontiguousarray(parts), weights=part_weights,
                   gram=np.real(weighted @ transforms.T), first_term=np.real(weighted @ first.reshape(-1)))


@lru_cache(maxsize=1)
def _basis() -> _Basis:
    dy, dx = _wrapped_offsets(GRID)
    inside = (np.abs(dy) <= KERNEL_HALF_WIDTH) & (np.abs(dx) <= KERNEL_HALF_WIDTH)
    functions, symmetric = [], []
    for sigma, degree in BASIS_GAUSSIANS:
        gaussian = np.exp(-(dy * dy + dx * dx) / (2.0 * sigma * sigma)) * inside
        for i in range(degree + 1):
            for j in range(degree + 1 - i):
                functions.append(gaussian * dx ** i * dy ** j)
                symmetric.append((i + j) % 2 == 0)
    first = functions[0] / functions[0].sum()
    rest = []
    for function in functions[1:]:
        total = function.sum()
        # Polynomials odd in u or v sum to zero already (up to rounding): scale them to unit peak.
        rest.append(function / total - first if abs(total) > 1e-9 * np.abs(function).sum()
                    else function / np.abs(function).max())
    first_transfer = rfft2(first).real.astype(complex)
    rest_transfers = np.array([rfft2(function) for function in rest]).reshape(len(rest), -1)
    weights = np.full(first_transfer.shape, 2.0)
    weights[:, 0] = weights[:, -1] = 1.0   # the rfft2 half plane holds these columns once
    weights = weights.reshape(-1)
    even = np.flatnonzero(symmetric[1:])
    return _Basis(first=first_transfer,
                  full=_solver(rest_transfers, first_transfer, weights, real=False),
                  even=_solver(rest_transfers[even].real.astype(complex), first_transfer, weights, real=True))


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _point_symmetric(transfer: np.ndarray) -> bool:
    """Whether an image's transform is real: the image is symmetric about pixel (0, 0)."""
    return bool(np.abs(transfer.imag).max() <= 1e-9 * np.abs(transfer.real).max())


def fit_kernel(convolved: np.ndarray, target: np.ndarray, *, regularisation: float) -> np.ndarray:
    """Transform of the unit-sum basis kernel K minimising |target - K convolved|^2 + regularisation |K|^2.

    ``convolved`` (the PSF of the image K convolves) and ``target`` are unit-flux PSF
    transforms (rfft2 layout); ``regularisation`` is the errors-in-variables term of
    :func:`star_noise_regularisation`.  Centred PSFs are
    point-symmetric (their transforms real), and then the antisymmetric basis functions
    (i + j odd) have exactly zero coefficients: the normal equations split into a symmetric
    and an antisymmetric block, and the latter's right-hand side vanishes.  The fit then
    solves the symmetric block alone, in real arithmetic (6x fewer operations).
    """
    basis = _basis()
    symmetric = _point_symmetric(convolved) and _point_symmetric(target)
    solver = basis.even if symmetric else basis.full
    convolved_flat = convolved.reshape(-1)
    power = np.abs(convolved_flat) ** 2
    residual = convolved_flat.conj() * (target - basis.first * convolved).reshape(-1)
    if not symmetric:
        power = np.concatenate([power, power])
        residual = np.concatenate([residual.real, residual.imag])
    # Re(conj(B_m s) W (B_n s)) = Re(conj(B_m) B_n) W |s|^2: one real matrix product.
    # One BLAS thread: these products are too small to gain from more, and the simulator's
    # worker processes (and pytest's) already fill the cores -- two threads per process
    # spinning against each other made a 2-worker release many times slower.
    with _blas().limit(limits=1, user_api="blas"):
        normal = (solver.parts * (solver.weights * power)) @ solver.parts.T + regularisation * solver.gram
        right = solver.parts @ (solver.weights * residual.real) - regularisation * solver.first_term
        coefficients = np.linalg.solve(normal, right)
        return basis.first + (coefficients @ solver.transforms).reshape(basis.first.shape)


def star_noise_regularisation(*, fwhm: float, beta: float, ellipticity: float, sky_sigma: float,
                              noise_scale: float, faint_flux: float, magnitude_scale: float,
                              saturation: float) -> float:
    """The fit's errors-in-variables term: the substamps' noise power over the stars' flux^2.

    For the stars a kernel fit uses, ``sum_k P_k / sum_k F_k^2``, where P_k is the convolved
    image's noise variance summed over star k's substamp (sky and the star's own Poisson
    noise) and F_k its flux; both in search-image electrons.  The stars follow the
    simulator's field-star counts (``scene._add_field``: magnitudes ``magnitude_scale``
    -exponential brighter than the flux ``faint_flux``), and enter the fit if their peak
    pixel reaches FIT_THRESHOLD_SIGMA sky sigmas and stays below ``saturation`` (HOTPANTS
    rejects substamps with saturated pixels).  The sums' expected values are closed forms
    of that exponential; the stars' number cancels.

    ``noise_scale`` multiplies the convolved image's variance in search electrons: 1 for the
    search image, 10^(-0.8 depth) for a template ``depth`` magnitudes deeper.  The PSF
    (``fwhm``, ``beta``, ``ellipticity``) is the convolved image's.
    """
    peak = moffat_peak(fwhm=fwhm, beta=beta, ellipticity=ellipticity)
    rate = 0.4 * math.log(10.0)   # flux = faint_flux * exp(rate * magnitudes brighter)
    faintest = FIT_THRESHOLD_SIGMA * sky_sigma * math.sqrt(noise_scale) / peak
    brightest = saturation / peak
    low = max(0.0, math.log(faintest / faint_flux) / rate)
    high = math.log(brightest / faint_flux) / rate
    if high <= low:
        raise ValueError(f"no star between {FIT_THRESHOLD_SIGMA:g} sky sigmas and saturation: "
                         f"faintest {faintest:.3g} e-, brightest {brightest:.3g} e-")

    def moment(power: int) -> float:
        """E[(F / faint_flux)^power] over the fit's stars, up to the common star count."""
        exponent = power * rate - 1.0 / magnitude_scale
        if abs(exponent) < 1e-12:
            return (high - low) / magnitude_scale
        return (math.exp(exponent * high) - math.exp(exponent * low)) / (magnitude_scale * exponent)

    substamp = (2 * SUBSTAMP_HALF_WIDTH + 1) ** 2
    noise = noise_scale * (substamp * sky_sigma ** 2 * moment(0) + faint_flux * moment(1))
    return noise / (faint_flux * faint_flux * moment(2))
