"""Physics of single stamps: determinism, each artifact type, flux recovery, masks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import erfc

from realbogus.release.layout import MASKED_PIXEL_VALUE, STAMP_SIZE
from realbogus.simulate import ARTIFACT_TYPES, SimulationConfig, draw_truth_table, simulate_sample
from realbogus.simulate.artifacts import RECIPES
from realbogus.simulate.canvas import Canvas
from realbogus.simulate.scene import (DEEP_FIELDS, HOST_BRIGHTEST_MAG, detection_efficiency, draw_conditions,
                                      draw_plan, render_signal, sample_rng)
from realbogus.simulate.psf import GRID, irfft2, moffat_alpha, resampling_noise_transfer, rfft2

SEED = 7
N_DRY = 1500


@pytest.fixture(scope="module")
def dry_truth():
    return draw_truth_table(n=N_DRY, seed=SEED)


def _render(index: int, config: SimulationConfig | None = None, seed: int = SEED):
    plan, rendered = simulate_sample(seed=seed, index=index, label_noise=0.015, flip_ratio=3.0,
                                     config=config or SimulationConfig())
    return plan, rendered


def test_same_seed_and_index_give_identical_stamps_and_others_differ() -> None:
    _, first = _render(3)
    _, again = _render(3)
    _, other = _render(4)
    for name in ("template", "search", "difference"):
        a, b = getattr(first, name), getattr(again, name)
        assert a.shape == (STAMP_SIZE, STAMP_SIZE) and a.dtype == np.float32
        assert np.array_equal(a, b)
    assert not np.array_equal(first.difference, other.difference)


def test_dry_plan_equals_rendered_plan(dry_truth) -> None:
    plan, _ = _render(10)
    row = dry_truth.iloc[10]
    assert (plan.labels.given_label, plan.scene_kind, plan.artifact_type) == (
        row["given_label"], row["scene_kind"], row["artifact_type"])


def test_every_artifact_type_appears(dry_truth) -> None:
    assert set(ARTIFACT_TYPES) <= set(dry_truth["artifact_type"])
    assert {"fake", "artifact"} <= set(dry_truth["scene_kind"])


def _first(dry_truth, artifact_type: str, offset: int = 0) -> int:
    rows = dry_truth.index[(dry_truth["artifact_type"] == artifact_type) & (dry_truth["scene_kind"] == "artifact")]
    return int(rows[offset])


def _robust_sigma(image: np.ndarray) -> float:
    valid = image[image != np.float32(MASKED_PIXEL_VALUE)]
    return 1.4826 * float(np.median(np.abs(valid - np.median(valid))))


@pytest.mark.parametrize("artifact_type", ARTIFACT_TYPES)
def test_each_artifact_type_renders_a_detection_at_the_centre(dry_truth, artifact_type: str) -> None:
    plan, rendered = _render(_first(dry_truth, artifact_type))
    assert plan.artifact_type == artifact_type and plan.labels.true_label == 1
    for name in ("template", "search", "difference"):
        assert np.isfinite(getattr(rendered, name)).all()
    difference = rendered.difference
    center = difference[STAMP_SIZE // 2 - 1:STAMP_SIZE // 2 + 2, STAMP_SIZE // 2 - 1:STAMP_SIZE // 2 + 2]
    center = center[center != np.float32(MASKED_PIXEL_VALUE)]
    # The stamp is centred on the difference's local peak: the centre is positive.
    assert center.size and center.max() > 0


def test_masked_edge_stamps_hold_1e30_and_consistent_ccd_position() -> None:
    seen_edge = seen_mask = False
    # Masked patches need their mis-subtracted star to pass the threshold: 1 in 7-20 of the
    # type, so look through more plans than the module's dry truth holds.
    plans = draw_truth_table(n=5000, seed=SEED)
    rows = plans.index[(plans["artifact_type"] == "masked_edge") & (plans["scene_kind"] == "artifact")]
    for index in rows:
        plan, rendered = _render(int(index))
        masked = rendered.difference == np.float32(MASKED_PIXEL_VALUE)
        assert masked.any() and 0 < rendered.truth["masked_fraction"] < 1
        if rendered.truth["artifact_detail"] == "ccd_edge":
            seen_edge = True
            # Off the CCD: masked in all three stamps; and the CCD position says so.
            assert (rendered.search[masked] == np.float32(MASKED_PIXEL_VALUE)).all()
            context = rendered.context
            distance = min(context.x_ccd, context.y_ccd, 2047 - context.x_ccd, 4095 - context.y_ccd)
            assert distance == pytest.approx(rendered.truth["edge_distance_px"])
            assert distance < STAMP_SIZE // 2
        else:
            seen_mask = True
        if seen_edge and seen_mask:
            break
    assert seen_edge and seen_mask


def test_saturated_stars_are_clipped_with_a_bleed_trail(dry_truth) -> None:
    config = SimulationConfig()
    plan, rendered = _render(_first(dry_truth, "saturated_star"), config)
    saturated = rendered.search >= np.float32(config.saturation_electrons) * 0.999
    assert saturated.sum() > 5
    assert rendered.search.max() <= np.float32(config.saturation_electrons) * 1.0001
    # A bleed trail is taller than wide.
    rows, columns = np.nonzero(saturated)
    assert rows.max() - rows.min() > columns.max() - columns.min()


def test_cosmic_rays_are_sharper_than_the_psf(dry_truth) -> None:
    for offset in range(5):
        plan, rendered = _render(_first(dry_truth, "cosmic_ray", offset))
        search = rendered.search
        window = np.zeros_like(search, dtype=bool)
        window[STAMP_SIZE // 2 - 4:STAMP_SIZE // 2 + 5, STAMP_SIZE // 2 - 4:STAMP_SIZE // 2 + 5] = True
        peak = np.unravel_index(np.argmax(np.where(window, search, -np.inf)), search.shape)
        neighbours = search[peak[0] - 1:peak[0] + 2, peak[1] - 1:peak[1] + 2]
        # A PSF with FWHM >= 3.4 px keeps >= 60% of its peak in the neighbouring pixels;
        # a cosmic-ray hit or track drops faster in at least one direction.
        assert np.sort(neighbours.ravel())[0] < 0.6 * search[peak]


def test_cosmic_rays_come_only_from_visits_whose_median_keeps_them(dry_truth) -> None:
    # A median of three or more exposures (every deep-field visit) rejects a cosmic ray.
    cosmic = dry_truth[dry_truth["artifact_type"] == "cosmic_ray"]
    assert len(cosmic) > 20 and not cosmic["field"].isin(DEEP_FIELDS).any()
    assert set(cosmic["band"]) == {"g", "r", "i", "z"}  # z: a median of two, the shallow fields' visit
    # The control: the other samples come from the deep fields as often as the fields say.
    assert 0.12 < dry_truth["field"].isin(DEEP_FIELDS).mean() < 0.28


def test_a_cosmic_ray_in_the_median_of_two_exposures_stands_sqrt2_lower() -> None:
    config = SimulationConfig()
    conditions = draw_conditions(np.random.default_rng(1), config=config)
    searches = []
    for exposures in (1, 2):
        canvas = Canvas(conditions=dataclasses.replace(conditions, search_exposures=exposures), config=config,
                        detection_y=GRID / 2, detection_x=GRID / 2)
        canvas.search = np.zeros((GRID, GRID))
        RECIPES["cosmic_ray"].detector(canvas, np.random.default_rng(2), on_fake=False)
        searches.append(canvas.search)
    assert searches[0].max() > 0
    np.testing.assert_allclose(searches[1], searches[0] / np.sqrt(2.0), rtol=1e-12)


def test_fake_flux_is_recovered_by_aperture_photometry_on_the_difference() -> None:
    config = SimulationConfig(star_density=0.0, galaxy_density=0.0, host_fraction=0.0, registration_error_px=0.0,
                              psf_model_error=0.0, flux_scale_error=0.0, fake_mag_from_limit_min=-3.5,
                              fake_mag_from_limit_max=-2.5)
    ratios = []
    for index in range(200):
        plan, rendered = _render(index, config, seed=3)
        if plan.scene_kind != "fake":
            continue
        conditions = plan.conditions
        # The difference has the broader PSF; integrate a 3-FWHM aperture and compare
        # with the Moffat's analytic encircled energy there.
        if conditions.template_seeing_fwhm_px <= conditions.seeing_fwhm_px:
            fwhm, beta = conditions.seeing_fwhm_px, conditions.search_beta
        else:
            fwhm, beta = conditions.template_seeing_fwhm_px, conditions.template_beta
        radius = 3.0 * fwhm
        rows, columns = np.mgrid[:STAMP_SIZE, :STAMP_SIZE]
        center = STAMP_SIZE // 2
        aperture = (rows - center) ** 2 + (columns - center) ** 2 <= radius ** 2
        encircled = 1.0 - (1.0 + (radius / moffat_alpha(fwhm=fwhm, beta=beta)) ** 2) ** (1.0 - beta)
        ratios.append(rendered.difference[aperture].sum() / (rendered.truth["transient_flux"] * encircled))
        if len(ratios) == 30:
            break
    assert len(ratios) == 30
    ratios = np.array(ratios)
    # Each fake has S/N ~ 50-120 in a PSF fit; the wide aperture is noisier, so check the mean
    # tightly and every sample loosely.  No flux should vanish or double.
    assert abs(np.mean(ratios) - 1.0) < 0.04
    assert np.all(np.abs(ratios - 1.0) < 0.3)


def _neighbour_correlations(image: np.ndarray) -> tuple[float, float]:
    """Correlation of pixels 1 and 2 apart (rows and columns averaged)."""
    values = image.astype(float) - image.mean()
    variance = np.sum(values * values)
    lag = [0.5 * (np.sum(values[:, k:] * values[:, :-k]) + np.sum(values[k:, :] * values[:-k, :])) / variance
           for k in (1, 2)]
    return lag[0], lag[1]


def test_lanczos_resampling_correlates_neighbours_with_a_negative_side_lobe() -> None:
    noise = np.random.default_rng(0).standard_normal((GRID, GRID))
    filtered = irfft2(rfft2(noise) * resampling_noise_transfer(np.array([[0.5, 0.5]])))
    lag1, lag2 = _neighbour_correlations(filtered)
    assert 0.2 < lag1 < 0.32 and -0.22 < lag2 < -0.1  # Lanczos-3 halfway between pixels
    # Many exposures at random offsets, averaged, keep the flux (unit gain at zero frequency).
    coadd = resampling_noise_transfer(np.random.default_rng(1).random((8, 2)))
    assert coadd[0, 0] == pytest.approx(1.0) and coadd.max() < 1.05 and coadd[GRID // 2, -1] < 0.5


def _difference_noise_lags(config: SimulationConfig, *, enough: int) -> dict[str, np.ndarray]:
    """Lag-1 and lag-2 correlations of fakes' difference noise far from the fake, grouped by
    how the search image was resampled and what the subtraction did, until each group has
    ``enough`` (at most 600 samples)."""
    groups: dict[str, list] = {}
    for index in range(600):
        plan, rendered = _render(index, config, seed=4)
        if plan.scene_kind != "fake":
            continue
        conditions = plan.conditions
        exposures_table = "search_exposures_deep" if conditions.field_name in ("C3", "X3") else "search_exposures_shallow"
        if config.band_value(exposures_table, conditions.band) > 1:
            group = "coadded"
        elif not conditions.convolves_template:
            group = "single_search_convolved"
        elif conditions.kernel_sharpens:
            group = "single_template_sharpened"
        else:
            group = "single_template_broadened"
        groups.setdefault(group, []).append(_neighbour_correlations(rendered.difference[:12, :]))
        if len(groups) >= 3 and min(len(values) for values in groups.values()) >= enough:
            break
    return {group: np.array(values) for group, values in groups.items()}


def test_difference_noise_follows_how_the_search_image_was_resampled_and_which_image_was_convolved() -> None:
    lags = _difference_noise_lags(SimulationConfig(star_density=0.0, galaxy_density=0.0), enough=12)
    assert "single_search_convolved" not in lags   # the template is always the convolved image
    # A coadded (resampled) search image: Lanczos-correlated difference noise, like real DES
    # difference stamps.  A single exposure on its own grid is nearly white where a kernel
    # that broadens the deeper template smooths its noise away; where the kernel sharpens,
    # it passes the template's (resampled, correlated) noise and rings.
    assert 0.05 < np.median(lags["coadded"][:, 0]) < 0.35 and np.median(lags["coadded"][:, 1]) < 0.0
    assert abs(np.median(lags["single_template_broadened"][:, 0])) < 0.06
    sharpened = np.median(lags["single_template_sharpened"], axis=0)
    assert sharpened[0] > 0.04 and sharpened[1] < -0.025
    # Convolving the sharper image instead: a single search exposure convolved carries the
    # matching kernel's correlation.
    lags = _difference_noise_lags(SimulationConfig(star_density=0.0, galaxy_density=0.0, convolved_image="sharper"),
                                  enough=12)
    assert "single_template_sharpened" not in lags
    assert np.median(lags["single_search_convolved"][:, 0]) > 0.15


def test_detected_fakes_are_the_injected_ones_thinned_by_the_detection_efficiency() -> None:
    truth = draw_truth_table(n=3000, seed=9)
    fakes = truth[truth["scene_kind"] == "fake"]
    config = SimulationConfig()
    offsets = fakes["mag_from_limit"].to_numpy()
    assert offsets.max() <= config.fake_mag_from_limit_max + 1e-9
    assert offsets.min() >= config.fake_mag_from_limit_min - 1e-9
    # Injected counts rise toward the faint end (an exponential truncated to [min, max]); the
    # release keeps the detected ones: efficiency 1/2 erfc((5 - s) / sqrt 2) at nominal S/N
    # s = 5 * 10^(-0.4 offset).  Its median, by quadrature, is where the release's lies.
    grid = np.linspace(config.fake_mag_from_limit_min, config.fake_mag_from_limit_max, 20_001)
    injected = np.exp((grid - config.fake_mag_from_limit_max) / config.fake_mag_from_limit_scale)
    efficiency = 0.5 * erfc((config.detection_snr_min - 5.0 * 10.0 ** (-0.4 * grid)) / np.sqrt(2.0))
    cumulative = np.cumsum(injected * efficiency)
    expected_median = grid[np.searchsorted(cumulative, cumulative[-1] / 2)]
    assert abs(np.median(offsets) - expected_median) < 0.1
    # Fakes a little fainter than the limit are detected when the noise helps, rarely far past it.
    assert 0.05 < np.mean(offsets > 0.0) < 0.35 and np.mean(offsets > 0.6) < 0.02
    assert truth.loc[truth["scene_kind"] == "artifact", "magnitude"].isna().all()


def test_detection_efficiency_is_a_smooth_step_through_the_threshold() -> None:
    config = SimulationConfig()
    assert detection_efficiency(config.detection_snr_min, config=config) == pytest.approx(0.5)
    snrs = np.linspace(0.0, 12.0, 49)
    values = np.array([detection_efficiency(snr, config=config) for snr in snrs])
    assert np.all(np.diff(values) > 0) and values[0] < 1e-5 and values[-1] > 1 - 1e-5


def test_hosts_are_as_bright_as_their_transients_redshift_makes_them(dry_truth) -> None:
    hosts, fakes = [], []
    for index in dry_truth.index[dry_truth["scene_kind"] == "fake"][:60]:
        plan, rendered = _render(int(index))
        hosts.append(rendered.truth["host_magnitude"])
        fakes.append(plan.magnitude)
    hosts, fakes = np.array(hosts), np.array(fakes)
    # Host and fake share a redshift: a fainter fake sits on a fainter host, usually brighter than it.
    assert np.corrcoef(hosts, fakes)[0, 1] > 0.4
    assert 1.0 < np.median(fakes - hosts) < 3.0


@pytest.mark.parametrize("artifact_type", ["dipole", "bad_subtraction", "galaxy_core"])
def test_residual_prescreen_over_estimates_the_noise_free_residual(dry_truth, artifact_type: str) -> None:
    # A residual's cause is drawn again before rendering while its predicted S/N cannot reach
    # the threshold: the prediction must be an upper estimate (little lost), and not a wild one.
    config = SimulationConfig()
    ratios = []
    for offset in range(25):
        index = _first(dry_truth, artifact_type, offset)
        rng = sample_rng(seed=SEED, index=index)
        plan = draw_plan(rng, index=index, label_noise=0.015, flip_ratio=3.0, config=config)
        signal = render_signal(plan, rng, config=config)
        assert signal.has_residual_cause
        ratios.append(signal.detection_snr() / signal.canvas.details["predicted_snr"])
    ratios = np.array(ratios)
    assert np.mean(ratios < 1.6) >= 0.9 and np.median(ratios) > 0.3


def test_residual_artifacts_crowd_the_detection_threshold(dry_truth) -> None:
    config = SimulationConfig()
    faintest, brightest = config.artifact_source_mag_range
    snrs = []
    for artifact_type in ("dipole", "bad_subtraction", "galaxy_core"):
        for offset in range(12):
            plan, rendered = _render(_first(dry_truth, artifact_type, offset))
            snrs.append(rendered.truth["detection_snr"])
            above_limit = plan.conditions.limiting_mag - rendered.truth["source_magnitude"]
            assert faintest - 1e-9 <= above_limit <= brightest + 1e-9
    # Small errors on sources a few magnitudes above the limit: the detected residuals are
    # the errors' tail, mostly just above S/N 5.
    assert min(snrs) >= config.detection_snr_min and np.median(snrs) < 10.0


def _residual_signals(config: SimulationConfig, *, n_plans: int):
    """Noise-free renders of the artifact plans among the first ``n_plans`` (seed 3)."""
    for index in range(n_plans):
        rng = sample_rng(seed=3, index=index)
        plan = draw_plan(rng, index=index, label_noise=0.0, flip_ratio=3.0, config=config)
        if plan.scene_kind == "artifact":
            yield render_signal(plan, rng, config=config)


def test_a_template_psf_modelled_too_narrow_leaves_a_positive_core() -> None:
    from realbogus.simulate.artifacts import kernel_width_error

    # The prescreen's polarity rule, against the subtraction itself (noise-free).
    assert kernel_width_error(template_error=-0.05, search_error=0.0) > 0 > kernel_width_error(template_error=0.05,
                                                                                              search_error=0.0)
    # Large errors (sigma 30 %), so that both polarities pass the prescreen.
    config = SimulationConfig(star_density=0.0, galaxy_density=0.0, registration_error_px=0.0, psf_model_error=0.0,
                              flux_scale_error=0.0, artifact_type_weights=(("bad_subtraction", 1.0),),
                              artifact_fraction=0.99, source_psf_error_sigma=0.3)
    cores: dict[bool, list[float]] = {True: [], False: []}
    for signal in _residual_signals(config, n_plans=80):
        canvas = signal.canvas
        if canvas.flux_changes or canvas.template_psf_model_error == 0.0:
            continue  # only the template-PSF errors alone
        center = signal.difference_signal[round(canvas.detection_y), round(canvas.detection_x)]
        cores.setdefault(canvas.template_psf_model_error < 0.0, []).append(center)
    assert min(cores[True]) > 0.0 and max(cores[False]) < 0.0


def _second_moments(image: np.ndarray) -> tuple[float, float, float]:
    """(Ixx, Iyy, Ixy) of an image about its centroid."""
    rows, columns = np.mgrid[:image.shape[0], :image.shape[1]].astype(float)
    total = image.sum()
    dy, dx = rows - (image * rows).sum() / total, columns - (image * columns).sum() / total
    return (image * dx * dx).sum() / total, (image * dy * dy).sum() / total, (image * dx * dy).sum() / total


def test_a_shape_error_changes_the_modelled_psf_ellipticity_by_that_much() -> None:
    from realbogus.simulate import psf

    sigma = 2.0
    round_psf = psf.gaussian_transfer(sigma_y=sigma, sigma_x=sigma)
    for e1, e2 in ((0.05, 0.0), (0.0, -0.04), (0.03, 0.03)):
        model = round_psf * psf.model_error_transfer(sigma_psf=sigma, fractional_error=0.0, shape_error=(e1, e2))
        ixx, iyy, ixy = _second_moments(np.fft.fftshift(irfft2(model)))
        assert ((ixx - iyy) / (ixx + iyy), 2.0 * ixy / (ixx + iyy)) == pytest.approx((e1, e2), abs=2e-3)
    # Without a shape error it is the width-only factor it always was.
    widened = psf.model_error_transfer(sigma_psf=sigma, fractional_error=0.05)
    assert np.array_equal(widened, psf.model_error_transfer(sigma_psf=sigma, fractional_error=0.05, shape_error=(0, 0)))
    ixx, iyy, _ = _second_moments(np.fft.fftshift(irfft2(round_psf * widened)))
    assert np.sqrt((ixx + iyy) / 2.0) == pytest.approx(sigma * 1.05, rel=2e-3)


def test_a_kernel_shape_error_alone_leaves_a_four_lobed_residual() -> None:
    # A star subtracted with a kernel that is right in width but wrong in shape: positive
    # along one axis, negative across it, no net flux; the prescreen still over-estimates it.
    config = SimulationConfig(star_density=0.0, galaxy_density=0.0, registration_error_px=0.0, psf_model_error=0.0,
                              psf_shape_error=0.0, flux_scale_error=0.0, artifact_type_weights=(("bad_subtraction", 1.0),),
                              artifact_fraction=0.99, source_psf_error_sigma=0.0, star_flux_change_sigma=0.0,
                              source_psf_shape_error_sigma=0.1)
    from realbogus.simulate.artifacts import shape_response

    seen, ratios, responses = 0, [], {}
    for signal in _residual_signals(config, n_plans=60):
        canvas = signal.canvas
        difference = signal.difference_signal
        star_y, star_x, flux = canvas.stars[0]
        rows, columns = np.mgrid[:GRID, :GRID].astype(float)
        near = np.hypot(rows - star_y, columns - star_x) < 10
        # The fitted kernel sums to one, so the residual carries no net flux; its 21 x 21
        # footprint cannot move Moffat wings of different indices, which leaves up to ~1 % of
        # the flux inside 10 px against as much outside (as a real fitted kernel does).
        assert abs(difference.sum()) < 1e-3 * flux
        assert abs(difference[near].sum()) < 2.5e-2 * flux
        # The residual's quadrupole (xx - yy, 2 xy) opposes the kernel's shape error: a kernel
        # that wrongly stretches the matched image along an axis leaves a negative residual along it.
        e1, e2 = np.subtract(canvas.search_psf_shape_error, canvas.template_psf_shape_error)
        q1 = (difference * near * ((columns - star_x) ** 2 - (rows - star_y) ** 2)).sum()
        q2 = (difference * near * 2 * (columns - star_x) * (rows - star_y)).sum()
        assert np.dot((q1, q2), (e1, e2)) < 0
        positive = difference[near].max()
        assert positive > 0 and difference[near].min() < -0.5 * positive
        ratio = signal.detection_snr() / canvas.details["predicted_snr"]
        responses.setdefault(canvas.conditions.kernel_sharpens, []).append(ratio * shape_response(canvas.conditions))
        ratios.append(ratio)
        seen += 1
    assert seen >= 30
    assert np.mean(np.array(ratios) < 1.0) >= 0.9
    # With the shape error alone the prescreen's estimate is shape_response per unit error,
    # so this is the response itself: about 0.12 of the source's S/N per unit error where
    # the kernel broadens the template, more where it sharpens it.
    broadening, sharpening = (np.median(responses[sharpens]) for sharpens in (False, True))
    assert 0.10 < broadening < 0.14 < sharpening < 0.2


def test_shape_errors_draw_from_their_own_stream(dry_truth) -> None:
    # A release with and without PSF shape errors draws everything else alike: a fake's
    # template and search are the same, only the difference (the kernel) changes.
    without = SimulationConfig(psf_shape_error=0.0, source_psf_shape_error_sigma=0.0)
    index = int(dry_truth.index[dry_truth["scene_kind"] == "fake"][0])
    plan, shaped = _render(index)
    same_plan, plain = _render(index, config=without)
    assert plan == same_plan
    assert np.array_equal(shaped.template, plain.template) and np.array_equal(shaped.search, plain.search)
    assert not np.array_equal(shaped.difference, plain.difference)
    assert shaped.truth["psf_shape_error"] > 0.0 and plain.truth["psf_shape_error"] == 0.0


def test_stamps_always_have_the_release_shape() -> None:
    # Off-centre saturated stars and dipoles move the detection: the cut must stay 51x51.
    config = SimulationConfig(artifact_type_weights=(("saturated_star", 1.0), ("dipole", 1.0)), artifact_fraction=0.95)
    for index in range(60):
        _, rendered = _render(index, config, seed=5)
        assert rendered.template.shape == rendered.search.shape == rendered.difference.shape == (STAMP_SIZE, STAMP_SIZE)


def test_canvas_ffts_equal_scipy_fft_bit_for_bit() -> None:
    # psf.rfft2 / irfft2 may call scipy's pocketfft kernels directly (a speed-up): the
    # numbers must be exactly scipy.fft's, or the rendered stamps would change.
    import scipy.fft

    from realbogus.simulate import psf

    rng = np.random.default_rng(5)
    image = rng.standard_normal((psf.GRID, psf.GRID)) * 1e3
    transform = psf.rfft2(image)
    assert np.array_equal(transform, scipy.fft.rfft2(image))
    assert np.array_equal(psf.irfft2(transform), scipy.fft.irfft2(transform, s=(psf.GRID, psf.GRID)))
    real_transfer = psf.gaussian_transfer(sigma_y=1.3, sigma_x=0.7)  # float input takes the public path
    assert np.array_equal(psf.irfft2(real_transfer), scipy.fft.irfft2(real_transfer, s=(psf.GRID, psf.GRID)))


def test_every_sample_is_a_detection_above_the_threshold() -> None:
    config = SimulationConfig()
    snrs = [_render(index, config, seed=6)[1].truth["detection_snr"] for index in range(60)]
    # Renderings below S/N 5 are drawn again; only after 20 failures would one stay.
    assert np.mean(np.array(snrs) >= config.detection_snr_min) >= 0.98
    # Without the threshold, faint fakes and weak residuals fall below it.
    loose = SimulationConfig(detection_snr_min=-np.inf)
    loose_snrs = [_render(index, loose, seed=6)[1].truth["detection_snr"] for index in range(60)]
    assert np.mean(np.array(loose_snrs) < config.detection_snr_min) > 0.1


def test_fakes_follow_their_hosts_light_not_their_nuclei(dry_truth) -> None:
    offsets = []
    for index in dry_truth.index[dry_truth["scene_kind"] == "fake"][:40]:
        plan, rendered = _render(int(index))
        assert plan.host_galaxy
        offsets.append(rendered.truth["host_offset_px"])
    offsets = np.array(offsets)
    # Half the light-weighted positions lie beyond the half-light radius (0.6-15 px here).
    assert np.median(offsets) > 1.0 and np.mean(offsets < 0.1) < 0.1


def test_noise_peak_is_a_psf_like_fluctuation_that_passes_the_threshold(dry_truth) -> None:
    config = SimulationConfig()
    for offset in range(3):
        plan, rendered = _render(_first(dry_truth, "noise_peak", offset), config)
        assert rendered.truth["detection_snr"] >= config.detection_snr_min
        search = rendered.search.astype(float)
        center = search[STAMP_SIZE // 2 - 2:STAMP_SIZE // 2 + 3, STAMP_SIZE // 2 - 2:STAMP_SIZE // 2 + 3].mean()
        ring = search[STAMP_SIZE // 2 - 12:STAMP_SIZE // 2 + 13, STAMP_SIZE // 2 - 12:STAMP_SIZE // 2 + 13]
        assert center > np.median(ring)  # a bump in the search image, not in the template


def _conditioned_peak(*, convolve_template: bool, kernel_sigma: float, template_share: float):
    """A noise peak conditioned on white noise (sigma 10, the template's ``template_share`` of it)
    through a Gaussian kernel: the images' conditional means, the difference's, and the filter's sigma."""
    from realbogus.simulate.canvas import Canvas
    from realbogus.simulate.psf import CENTER, gaussian_transfer
    from realbogus.simulate.scene import (_condition_noise_on_peak, _difference_noise, _fwhm_to_sigma, _subtract,
                                          _Subtraction)

    config = SimulationConfig()
    conditions = draw_conditions(sample_rng(seed=3, index=0), config=config)
    canvas = Canvas(conditions=conditions, config=config, detection_y=CENTER, detection_x=CENTER)
    canvas.search, canvas.template = np.zeros((GRID, GRID)), np.zeros((GRID, GRID))
    canvas.noise_peak = (CENTER, CENTER, 0.5)  # the median of the tail above the threshold
    subtraction = _Subtraction(kernel=gaussian_transfer(sigma_y=kernel_sigma, sigma_x=kernel_sigma),
                               convolve_template=convolve_template, scale=1.0)
    unfiltered = np.ones((GRID, GRID // 2 + 1))
    _condition_noise_on_peak(canvas, difference=np.zeros((GRID, GRID)), subtraction=subtraction,
                             search=(np.full((GRID, GRID), 10.0), unfiltered),
                             template=(np.full((GRID, GRID), 10.0 * template_share), unfiltered))
    difference = _subtract(subtraction, search_transfer=rfft2(canvas.search), template_transfer=rfft2(canvas.template))
    filter_sigma = _fwhm_to_sigma(conditions.difference_psf[0])
    return canvas, difference, filter_sigma, _difference_noise(conditions)


def _second_moment_sigma(image: np.ndarray) -> float:
    from realbogus.simulate.psf import CENTER

    rows, columns = np.mgrid[:GRID, :GRID]
    radius2 = (rows - CENTER) ** 2 + (columns - CENTER) ** 2
    return float(np.sqrt(np.sum(radius2 * image) / np.sum(image) / 2.0))


def test_a_noise_peak_is_the_noise_conditioned_on_the_detection_filter_reaching_its_snr() -> None:
    from realbogus.simulate.psf import CENTER, gaussian_transfer
    from realbogus.simulate.scene import noise_peak_snr

    kernel = gaussian_transfer(sigma_y=1.5, sigma_x=1.5)
    for convolve_template in (True, False):
        canvas, difference, filter_sigma, noise = _conditioned_peak(convolve_template=convolve_template,
                                                                    kernel_sigma=1.5, template_share=0.3)
        rows, columns = np.mgrid[:GRID, :GRID]
        weights = np.exp(-0.5 * ((rows - CENTER) ** 2 + (columns - CENTER) ** 2) / filter_sigma ** 2)
        # The filter's true sigma on white noise (10 in the search, 3 in the template): the
        # convolved image's noise reaches it through the (symmetric) kernel, K w.
        smoothed = irfft2(kernel * rfft2(weights))
        search_weights, template_weights = (weights, smoothed) if convolve_template else (smoothed, weights)
        true_sigma = np.sqrt(100.0 * np.sum(search_weights ** 2) + 9.0 * np.sum(template_weights ** 2))
        nominal_sigma = noise * np.sqrt(np.sum(weights ** 2))
        # The filter's response, in the pipeline's nominal S/N, is exactly the peak's: the tail's
        # median above the threshold for noise that much larger than the pipeline believes.
        expected = noise_peak_snr(0.5, threshold=SimulationConfig().detection_snr_min, excess=true_sigma / nominal_sigma)
        assert np.sum(weights * difference) / nominal_sigma == pytest.approx(expected, rel=1e-6)
        assert expected > SimulationConfig().detection_snr_min
        # The search's noise peaks, the template's share of the noise dips.
        assert canvas.search[CENTER, CENTER] > 0 > canvas.template[CENTER, CENTER]


def test_a_noise_peaks_snr_is_the_gaussian_tail_above_the_threshold() -> None:
    from realbogus.simulate.scene import noise_peak_snr

    threshold = 5.0
    quantiles = (np.arange(4000) + 0.5) / 4000
    rng = np.random.default_rng(5)
    for excess in (1.3, 1.8, 2.4):
        snrs = np.array([noise_peak_snr(q, threshold=threshold, excess=excess) for q in quantiles])
        # The nominal S/N of Gaussian noise ``excess`` times the nominal sigma, where it passed.
        passed = rng.normal(0.0, excess, 4_000_000)
        passed = passed[passed >= threshold]
        assert len(passed) > 200
        assert np.median(snrs) == pytest.approx(np.median(passed), abs=0.05)
        assert np.mean(snrs) == pytest.approx(np.mean(passed), abs=0.05)
        assert snrs.min() >= threshold
    # The overshoot's scale is about excess^2 / threshold: a slightly under-estimated noise
    # passes barely; the old draw, threshold + Exp(1), fits an excess near sqrt(5) only.
    overshoot = [np.mean([noise_peak_snr(q, threshold=threshold, excess=e) for q in quantiles]) - threshold
                 for e in (1.3, 2.4)]
    assert overshoot[0] < 0.45 < 0.8 < overshoot[1] < 1.4
    assert noise_peak_snr(1.0, threshold=threshold, excess=1.8) == pytest.approx(threshold)
    # Noise far below the threshold (a tail beyond double precision) still gives a finite S/N on it.
    assert noise_peak_snr(0.5, threshold=threshold, excess=0.1) == threshold


def test_a_noise_peak_has_the_shape_of_the_noise_correlation_the_kernel_gives_it() -> None:
    # Only search noise: where the template is convolved, the search noise is white and the
    # peak is the filter itself; where the search is convolved with K, the noise in the
    # difference is K * n and its peak is the filter smoothed by K twice (K K^T w).
    _, white, filter_sigma, _ = _conditioned_peak(convolve_template=True, kernel_sigma=1.5, template_share=0.0)
    assert _second_moment_sigma(white) == pytest.approx(filter_sigma, rel=0.02)
    _, smoothed, filter_sigma, _ = _conditioned_peak(convolve_template=False, kernel_sigma=1.5, template_share=0.0)
    assert _second_moment_sigma(smoothed) == pytest.approx(np.sqrt(filter_sigma ** 2 + 2 * 1.5 ** 2), rel=0.02)


def test_a_fake_lands_only_where_its_rendered_host_has_light() -> None:
    from realbogus.simulate.canvas import Canvas
    from realbogus.simulate.psf import CENTER, SERSIC_EXTENT
    from realbogus.simulate.scene import add_transient

    config = SimulationConfig()
    rng = sample_rng(seed=4, index=0)
    conditions = draw_plan(rng, index=0, label_noise=0.0, flip_ratio=3.0, config=config).conditions
    relative = []
    for _ in range(400):
        canvas = Canvas(conditions=conditions, config=config, detection_y=CENTER, detection_x=CENTER)
        add_transient(canvas, rng, magnitude=22.0, host=True)
        relative.append(canvas.details["host_offset_px"] / canvas.galaxies[-1]["half_light_radius"])
    relative = np.array(relative)
    # Placed by the host's light: half beyond r_e, a tail out to, never past, the rendered extent
    # (untruncated, a de Vaucouleurs host would put 17 % of its fakes beyond 5 r_e).
    assert 0.3 < np.mean(relative > 1.0) < 0.7 and relative.max() <= SERSIC_EXTENT + 1e-9
    assert np.mean(relative > 3.0) > 0.01


def test_a_galaxy_partly_off_the_canvas_puts_only_its_share_of_light_on_it() -> None:
    from realbogus.simulate.psf import GRID, sersic_image

    shape = {"half_light_radius": 8.0, "index": 1.0, "axis_ratio": 0.6, "angle": 0.4}
    # The same galaxy drawn on a canvas large enough to hold it whole, and on the canvas with
    # its centre 10 px beyond the canvas's last row.
    margin = 150
    whole = sersic_image(y=GRID + 10 + margin, x=GRID / 2 + margin, size=GRID + 2 * margin, **shape)
    assert whole.sum() == pytest.approx(1.0, abs=1e-6)
    clipped = sersic_image(y=GRID + 10, x=GRID / 2, **shape)
    np.testing.assert_allclose(clipped, whole[margin:margin + GRID, margin:margin + GRID], atol=1e-12)
    assert 0.01 < clipped.sum() < 0.3
    # Wholly off the canvas: nothing on it.
    assert not sersic_image(y=-500.0, x=GRID / 2, **shape).any()


def test_the_template_seeing_is_the_mean_of_its_coadds_exposures() -> None:
    def draw(config: SimulationConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(11)
        conditions = [draw_conditions(rng, config=config) for _ in range(3000)]
        return (np.array([c.seeing_fwhm_px for c in conditions]), np.array([c.template_seeing_fwhm_px for c in conditions]),
                np.array([c.template_exposures for c in conditions]))

    search, template, exposures = draw(SimulationConfig())
    low, high = SimulationConfig().template_exposures_range
    assert exposures.min() == low and exposures.max() == high
    epoch_low, epoch_high = (value / 0.263 for value in SimulationConfig().template_epoch_seeing_fwhm_arcsec_range)
    # Each exposure's seeing runs past the range now and then; their mean hardly ever does.
    assert np.mean((epoch_low <= template) & (template <= epoch_high)) > 0.995
    # Averaging 3-10 exposures narrows the spread around the same typical seeing: the template
    # is as often broader as sharper than the search image, rarely by much.
    assert template.std() < 0.5 * search.std()
    assert abs(np.median(template) / np.median(search) - 1.0) < 0.05
    assert 0.35 < np.mean(template > search) < 0.65
    assert np.std(template[exposures == high]) < np.std(template[exposures == low])
    # A coadd of one exposure is seeing drawn exactly as a search image's.
    search, template, _ = draw(SimulationConfig(template_exposures_range=(1, 1)))
    assert abs(np.median(template) / np.median(search) - 1.0) < 0.03
    assert template.std() == pytest.approx(search.std(), rel=0.1)


def test_the_seeing_is_mostly_inside_its_range_and_its_tails_run_past_it_without_piling_up() -> None:
    from realbogus.simulate.scene import _log_normal_mostly_inside

    rng = np.random.default_rng(5)
    low, high = 0.9, 1.8
    seeing = np.array([_log_normal_mostly_inside(rng, low, high) for _ in range(100_000)])
    # The range is the log-normal's +-2 sigma: 2.28 % of draws beyond each bound (binomial
    # sd 0.05 %), none of them sitting on a bound, as a clipped draw's 2.3 % would.
    assert 0.0200 < np.mean(seeing < low) < 0.0256 and 0.0200 < np.mean(seeing > high) < 0.0256
    assert not np.any(np.isclose(seeing, low, rtol=1e-12) | np.isclose(seeing, high, rtol=1e-12))
    assert np.median(seeing) == pytest.approx(np.sqrt(low * high), rel=0.01)
    # Thin tails: nothing past 5 sigma (0.57" and 2.8").
    assert seeing.min() > 0.57 and seeing.max() < 2.83
    assert _log_normal_mostly_inside(rng, 1.2, 1.2) == 1.2
    # Through the conditions: some search images are sharper than the range's 0.9".
    conditions = [draw_conditions(rng, config=SimulationConfig()) for _ in range(2000)]
    assert min(c.seeing_fwhm_px for c in conditions) < low / 0.263


def test_a_samples_difference_comes_apart_into_its_transient_and_the_static_residual(dry_truth) -> None:
    from realbogus.simulate.scene import render_sample

    fakes = dry_truth.index[dry_truth["scene_kind"] == "fake"][:6]
    artifact = _first(dry_truth, "bad_subtraction")
    for index in [*fakes, artifact]:
        plan, signal, rendered = render_sample(seed=SEED, index=int(index), label_noise=0.015, flip_ratio=3.0,
                                               config=SimulationConfig())
        # The same sample simulate_sample gives.
        _, again = _render(int(index))
        assert np.array_equal(rendered.difference, again.difference)
        transient = signal.transients_difference()
        if plan.scene_kind == "fake":
            # All of the fake's light is in its own part (the kernel keeps the flux), none of the host's.
            fluxes = sum(flux for _, _, flux in signal.canvas.transients)
            assert transient.sum() == pytest.approx(fluxes, rel=0.02)
            whole = signal.detection_snr()
            parts = signal.detection_snr_of(transient) + signal.detection_snr_of(signal.difference_signal - transient)
            assert parts == pytest.approx(whole, rel=1e-6)
            assert signal.detection_snr_of(transient) > 0
        else:
            assert not transient.any()


def test_without_a_threshold_a_noise_peak_is_the_noise_as_drawn() -> None:
    loose = SimulationConfig(detection_snr_min=-np.inf)
    table = draw_truth_table(n=300, seed=SEED, config=loose)
    index = int(table.index[(table["artifact_type"] == "noise_peak") & (table["scene_kind"] == "artifact")][0])
    _, rendered = _render(index, loose)
    # Nothing to condition on: no peak is forced, and no stamp holds a NaN from an infinite S/N.
    assert all(np.isfinite(stamp).all() for stamp in (rendered.template, rendered.search, rendered.difference))


@pytest.mark.parametrize("convolved_image", ["template", "sharper"])
def test_a_point_source_at_the_limiting_magnitude_has_snr_5_with_the_unconvolved_images_own_psf(convolved_image) -> None:
    from realbogus.simulate.psf import moffat_image
    from realbogus.simulate.scene import _difference_noise

    rng = np.random.default_rng(5)
    conditions = [draw_conditions(rng, config=SimulationConfig(convolved_image=convolved_image)) for _ in range(400)]
    snrs, template_kept_and_unlike = [], 0
    for c in conditions:
        # The difference keeps the PSF of the image not convolved: always the search image's
        # when the template is always convolved, else the broader image's.
        search_kept = convolved_image == "template" or c.template_seeing_fwhm_px <= c.seeing_fwhm_px
        fwhm, beta = (c.seeing_fwhm_px, c.search_beta) if search_kept else (c.template_seeing_fwhm_px, c.template_beta)
        if not search_kept and abs(c.template_beta - c.search_beta) > 0.7:
            template_kept_and_unlike += 1
        psf = moffat_image(y=GRID / 2, x=GRID / 2, fwhm=fwhm, beta=beta)
        flux = 10.0 ** (0.4 * (c.zeropoint - c.limiting_mag))
        # The PSF-fit S/N of a point source: flux * sqrt(sum psf^2) / sigma.
        snrs.append(flux * np.sqrt(np.sum(psf ** 2)) / _difference_noise(c))
    if convolved_image == "sharper":
        # Where the template is the broader image and its Moffat index differs from the search
        # image's, the limit follows the template's index (at the search's, it was off by up to 15 %).
        assert template_kept_and_unlike > 40
    np.testing.assert_allclose(snrs, 5.0, rtol=0.01)


def test_a_sources_own_motion_moves_it_alone_and_the_neighbours_keep_the_misregistration() -> None:
    from realbogus.simulate.psf import point_sources_transfer, sersic_image, shift_transfer
    from realbogus.simulate.scene import _sky_transfers

    config = SimulationConfig()
    conditions = draw_conditions(np.random.default_rng(3), config=config)
    canvas = Canvas(conditions=conditions, config=config, detection_y=GRID / 2, detection_x=GRID / 2)
    canvas.shift_y, canvas.shift_x = 0.04, -0.03
    flux = 5e4
    canvas.stars += [(20.0, 22.0, flux), (36.0, 36.0, flux)]
    galaxy = {"y": 50.0, "x": 30.0, "flux": flux, "half_light_radius": 2.0, "index": 1.5, "axis_ratio": 0.7, "angle": 0.3}
    canvas.galaxies.append(galaxy)
    canvas.own_shifts[("star", 1)] = (0.3, -0.2)
    canvas.own_shifts[("galaxy", 0)] = (-0.25, 0.1)

    stars = point_sources_transfer(ys=np.array([20.0, 36.0]), xs=np.array([22.0, 36.0]), fluxes=np.array([flux, flux]))
    shape = {key: galaxy[key] for key in ("half_light_radius", "index", "axis_ratio", "angle")}
    light = rfft2(flux * sersic_image(y=50.0, x=30.0, **shape))
    template_sky, search_sky = _sky_transfers(canvas)
    search = irfft2(search_sky)
    # The template sees every source where it is.
    np.testing.assert_allclose(irfft2(template_sky), irfft2(stars + light), atol=1e-6 * flux)

    expected = irfft2(point_sources_transfer(ys=np.array([20.04, 36.34]), xs=np.array([21.97, 35.77]),
                                             fluxes=np.array([flux, flux]))
                      + light * shift_transfer(dy=0.04 - 0.25, dx=-0.03 + 0.1))
    np.testing.assert_allclose(search, expected, atol=1e-6 * flux)
    assert canvas.search_shift("star", 0) == (0.04, -0.03)
    assert canvas.search_shift("star", 1) == pytest.approx((0.34, -0.23))


def test_dipoles_and_galaxy_cores_give_their_central_source_alone_its_own_motion(dry_truth) -> None:
    for artifact_type in ("dipole", "galaxy_core"):
        for offset in range(4):
            index = _first(dry_truth, artifact_type, offset)
            rng = sample_rng(seed=SEED, index=index)
            plan = draw_plan(rng, index=index, label_noise=0.0, flip_ratio=1.0, config=SimulationConfig())
            canvas = render_signal(plan, rng, config=SimulationConfig()).canvas
            assert len(canvas.own_shifts) == 1
            (kind, source), (own_y, own_x) = next(iter(canvas.own_shifts.items()))
            position = canvas.stars[source][:2] if kind == "star" else (canvas.galaxies[source]["y"], canvas.galaxies[source]["x"])
            # The source at the detection moved; the image's misregistration stays the 0.04 px kind.
            assert np.hypot(position[0] - canvas.detection_y, position[1] - canvas.detection_x) < 1.0
            assert np.hypot(own_y, own_x) > 0.0
            assert np.hypot(canvas.shift_y, canvas.shift_x) < 0.25


def test_a_cosmic_ray_hit_on_a_single_exposure_lands_in_one_pixel() -> None:
    config = SimulationConfig()
    conditions = draw_conditions(np.random.default_rng(1), config=config)
    hits = 0
    for seed in range(40):
        images = {}
        for exposures in (1, 2):
            canvas = Canvas(conditions=dataclasses.replace(conditions, search_exposures=exposures), config=config,
                            detection_y=GRID / 2 + 0.3, detection_x=GRID / 2 - 0.2)
            canvas.search = np.zeros((GRID, GRID))
            RECIPES["cosmic_ray"].detector(canvas, np.random.default_rng(seed), on_fake=False)
            images[exposures] = canvas.search
        if canvas.details["artifact_detail"] != "hit":
            continue
        hits += 1
        # One exposure on its own grid: all the charge in the struck pixel, 8-80 sigma.
        assert np.count_nonzero(images[1]) == 1
        assert 8.0 <= images[1].max() / conditions.search_noise <= 80.0
        # The median of two resampled the exposure: the same charge / sqrt(2), spread.
        assert np.count_nonzero(images[2]) > 1
        assert images[2].sum() == pytest.approx(images[1].sum() / np.sqrt(2.0))
    assert hits >= 5


def test_a_fakes_host_is_brighter_by_its_own_bands_host_over_peak() -> None:
    # No scatter and no time past peak: the host is the fake's magnitude less its band's value.
    over = {"g": 3.0, "r": 0.0, "i": 1.0, "z": 2.0}
    config = SimulationConfig(host_over_peak_mag=tuple(over.items()), transient_below_peak_mag_scale=0.0,
                              host_luminosity_scatter_mag=0.0)
    seen = set()
    for index in range(60):
        plan, rendered = simulate_sample(seed=11, index=index, label_noise=0.0, flip_ratio=1.0, config=config)
        if plan.scene_kind != "fake":
            continue
        band, truth = plan.conditions.band, rendered.truth
        assert truth["host_magnitude"] == pytest.approx(max(HOST_BRIGHTEST_MAG, plan.magnitude - over[band]))
        seen.add(band)
    assert len(seen) >= 3
