"""The 38 autoScan features (Goldstein et al. 2015, Table 2) computed from three stamps.

``compute_features`` measures one detection from its template, search and difference
stamps (51x51 floats in FITS units, detection at pixel (25, 25)) plus the survey metadata
in an ``ObservationContext``; ``compute_feature_table`` does it for a stack of samples.
docs/features.md lists each feature's definition, how it is computed here and where
this differs from the DES pipeline.  Anything that cannot be measured on a given stamp
(no source, all masked, unknown metadata) comes out NaN instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from realbogus.features.context import ObservationContext
from realbogus.features.gauss_fit import fit_round_gaussian
from realbogus.features.photometry import (
    MeasuredSource,
    circular_aperture_flux,
    extract_nearest_source,
    magnitude,
    magnitude_error,
    spread_model,
)
from realbogus.features.pixels import (
    CENTRE_PIXEL,
    bin_2x2,
    centred_box,
    masked_pixels,
    peak_normalised_stamp,
    robust_level_and_sigma,
    significance_stamp,
    validate_stamp,
)
from realbogus.release.layout import (
    BANDS,
    CCD_SHAPE,
    CHANNELS,
    FEATURE_NAMES,
    PIXEL_SCALE_ARCSEC,
    STAMP_SIZE,
)

FeatureValue = float | str


@dataclass(frozen=True)
class FeatureSettings:
    """Tunable choices of the feature extraction; the defaults are the project's.

    detection_threshold_sigma: sep threshold (per-pixel noise units, on the filtered
        image) for sources in the difference stamp.  1.0 finds ~80% of S/N 5 point
        sources while pure-noise stamps give almost no false source near the centre.
    template_threshold_sigma: the same for the template, a little stricter: a false
        template source would fill A_REF..NN_DIST_RENORM for a hostless detection.
    min_area_px: minimum connected pixels above threshold for a source.
    detection_match_radius_px: the difference source must lie this close to the stamp
        centre to be the detection.
    template_match_radius_arcsec: search radius for the template (reference) source
        (5 arcsec in autoScan).
    aperture_radius_px: radius of the circular apertures of FLUX_RATIO and GFLUX.
    gauss_fit_half_width_px: the Gaussian fit uses a (2h+1)^2 cutout (15x15 in autoScan).
    lacosmic_box_px: LACOSMIC is evaluated over the central box of this size.
    background_frame_width_px: background level and noise come from the stamp's outer
        frame of this width (halved on the 2x2-binned stamps).
    """

    detection_threshold_sigma: float = 1.0
    template_threshold_sigma: float = 1.2
    min_area_px: int = 5
    detection_match_radius_px: float = 3.0
    template_match_radius_arcsec: float = 5.0
    aperture_radius_px: float = 5.0
    gauss_fit_half_width_px: int = 7
    lacosmic_box_px: int = 15
    background_frame_width_px: int = 8

    def __post_init__(self) -> None:
        positive = {f.name: getattr(self, f.name) for f in fields(self)}
        bad = {name: value for name, value in positive.items() if not value > 0}
        if bad:
            raise ValueError(f"feature settings must all be positive, got {bad}")
        if self.lacosmic_box_px % 2 == 0 or self.lacosmic_box_px > STAMP_SIZE - 8:
            raise ValueError(
                f"lacosmic_box_px must be odd and at most {STAMP_SIZE - 8}, "
                f"got {self.lacosmic_box_px}"
            )
        if 2 * self.background_frame_width_px >= STAMP_SIZE - 10:
            raise ValueError(
                "background_frame_width_px leaves no interior in a 51x51 stamp, "
                f"got {self.background_frame_width_px}"
            )



DEFAULT_FEATURE_SETTINGS = FeatureSettings()

# (feature, sigma threshold, box size in 2x2-binned pixels).  autoScan counts pixels of
# the binned, noise-renormalised difference stamp: "SIG3" is a 5x5 and "SIG5" a 7x7
# binned box (about 10x10 and 14x14 original pixels).
_NEGATIVE_PIXEL_COUNTS = (
    ("N2SIG3", 2.0, 5), ("N3SIG3", 3.0, 5), ("N2SIG5", 2.0, 7), ("N3SIG5", 3.0, 7),
)
_SHIFT_COUNTS = (
    ("N2SIG3SHIFT", 2.0, 5), ("N3SIG3SHIFT", 3.0, 5),
    ("N2SIG5SHIFT", 2.0, 7), ("N3SIG5SHIFT", 3.0, 7),
)
_BINNED_CENTRE = CENTRE_PIXEL // 2  # binned pixel 12 holds original pixels 24-25


def compute_features(
    template: np.ndarray,
    search: np.ndarray,
    difference: np.ndarray,
    *,
    context: ObservationContext,
    settings: FeatureSettings = DEFAULT_FEATURE_SETTINGS,
) -> dict[str, FeatureValue]:
    """The 38 autoScan features of one detection.

    template, search, difference: (51, 51) floating-point stamps in FITS units
        (counts), the detection at pixel (25, 25); masked pixels hold 1e-30 or NaN.
    context: survey metadata.  MAG (and MAGDIFF, MAG_FROM_LIMIT) need ``zeropoint``;
        MAG_REF uses ``template_zeropoint``, else ``zeropoint``; MAGDIFF without a
        template source and MAG_FROM_LIMIT need ``limiting_mag``; SPREAD_MODEL needs
        ``seeing_fwhm_px``; MIN_DISTANCE_TO_EDGE_IN_NEW needs ``x_ccd``/``y_ccd``.
        Missing metadata gives NaN for those features only.
    Returns a dict with exactly ``FEATURE_NAMES`` as keys in that order: BAND is the
    band letter, every other value a float (NaN where unmeasurable).
    Raises ValueError for a stamp of the wrong shape or dtype, or an unknown band.
    """
    stamps = {
        "template": validate_stamp(template, name="template"),
        "search": validate_stamp(search, name="search"),
        "difference": validate_stamp(difference, name="difference"),
    }
    if not isinstance(context, ObservationContext):
        raise TypeError(f"context must be an ObservationContext, got {type(context).__name__}")
    if context.band not in BANDS:
        raise ValueError(f"context.band must be one of {BANDS}, got {context.band!r}")

    features: dict[str, FeatureValue] = dict.fromkeys(FEATURE_NAMES, math.nan)
    features["BAND"] = context.band
    features["CCDID"] = float(context.ccdid) if context.ccdid >= 1 else math.nan
    features["MIN_DISTANCE_TO_EDGE_IN_NEW"] = _distance_to_ccd_edge(context)
    # Odd stamps (constant, all masked) legitimately produce 0/0 on the way to a NaN.
    with np.errstate(all="ignore"):
        _measure_stamps(features, stamps, context=context, settings=settings)
    return features


def _measure_stamps(
    features: dict[str, FeatureValue],
    stamps: dict[str, np.ndarray],
    *,
    context: ObservationContext,
    settings: FeatureSettings,
) -> None:
    """Fill every stamp-derived feature of ``features`` in place."""
    masks = {name: masked_pixels(stamp) for name, stamp in stamps.items()}
    difference_mask = masks["difference"]
    features["MASKFRAC"] = float(np.mean(difference_mask))

    # Background-subtracted stamps and their per-pixel noise.
    subtracted: dict[str, np.ndarray] = {}
    noise: dict[str, float] = {}
    levels: dict[str, float] = {}
    for name, stamp in stamps.items():
        level, sigma = robust_level_and_sigma(
            stamp, mask=masks[name], frame_width=settings.background_frame_width_px
        )
        subtracted[name] = stamp - level  # all NaN when the level is unknown
        noise[name] = sigma
        levels[name] = level

    centre = float(CENTRE_PIXEL)
    detection = extract_nearest_source(
        subtracted["difference"], noise_sigma=noise["difference"], mask=difference_mask,
        x=centre, y=centre, max_distance_px=settings.detection_match_radius_px,
        threshold_sigma=settings.detection_threshold_sigma, min_area_px=settings.min_area_px,
    )
    _detection_features(features, detection, context=context)

    detection_x = detection.x if detection is not None else centre
    detection_y = detection.y if detection is not None else centre
    features["SPREAD_MODEL"], features["SPREADERR_MODEL"] = spread_model(
        subtracted["difference"], mask=difference_mask, noise_sigma=noise["difference"],
        x=detection_x, y=detection_y, psf_fwhm_px=context.seeing_fwhm_px,
    )

    reference = extract_nearest_source(
        subtracted["template"], noise_sigma=noise["template"], mask=masks["template"],
        x=centre, y=centre,
        max_distance_px=settings.template_match_radius_arcsec / PIXEL_SCALE_ARCSEC,
        threshold_sigma=settings.template_threshold_sigma, min_area_px=settings.min_area_px,
    )
    _reference_features(features, reference, detection_mag=float(features["MAG"]),
                        context=context)

    _aperture_ratio_features(features, subtracted, masks, settings=settings)
    _binned_count_features(features, stamps, masks, settings=settings)
    _shape_features(features, stamps["difference"], difference_mask,
                    level=levels["difference"], settings=settings)


def _detection_features(
    features: dict[str, FeatureValue],
    detection: MeasuredSource | None,
    *,
    context: ObservationContext,
) -> None:
    """A_IMAGE, B_IMAGE, ELLIPTICITY, FLAGS, SNR, MAG, MAG_FROM_LIMIT from the
    difference-image source at the centre (NaN without one)."""
    if detection is None:
        return
    features["A_IMAGE"] = detection.semi_major_px
    features["B_IMAGE"] = detection.semi_minor_px
    features["ELLIPTICITY"] = (
        1.0 - detection.semi_minor_px / detection.semi_major_px
        if detection.semi_major_px > 0.0 else math.nan
    )
    features["FLAGS"] = float(detection.flags)
    features["SNR"] = (
        detection.flux / detection.flux_error if detection.flux_error > 0.0 else math.nan
    )
    mag = magnitude(detection.flux, zeropoint=context.zeropoint)
    features["MAG"] = mag
    features["MAG_FROM_LIMIT"] = context.limiting_mag - mag


def _reference_features(
    features: dict[str, FeatureValue],
    reference: MeasuredSource | None,
    *,
    detection_mag: float,
    context: ObservationContext,
) -> None:
    """A_REF, B_REF, MAG_REF, MAG_REF_ERR, NN_DIST_RENORM, MAGLIM and MAGDIFF
    (``detection_mag`` is the detection's MAG, NaN if unmeasured)."""
    if reference is None:
        # No template source within the match radius: MAGDIFF falls back to the
        # exposure's limiting magnitude and MAGLIM records that it did.
        features["MAGLIM"] = 1.0
        features["MAGDIFF"] = context.limiting_mag - detection_mag
        return
    template_zeropoint = (
        context.template_zeropoint if math.isfinite(context.template_zeropoint)
        else context.zeropoint
    )
    mag_ref = magnitude(reference.flux, zeropoint=template_zeropoint)
    features["MAGLIM"] = 0.0
    features["A_REF"] = reference.semi_major_px
    features["B_REF"] = reference.semi_minor_px
    features["MAG_REF"] = mag_ref
    features["MAG_REF_ERR"] = magnitude_error(reference.flux, reference.flux_error)
    features["NN_DIST_RENORM"] = reference.distance_px * PIXEL_SCALE_ARCSEC
    features["MAGDIFF"] = mag_ref - detection_mag


def _aperture_ratio_features(
    features: dict[str, FeatureValue],
    subtracted: dict[str, np.ndarray],
    masks: dict[str, np.ndarray],
    *,
    settings: FeatureSettings,
) -> None:
    """FLUX_RATIO and GFLUX from circular apertures at the stamp centre."""
    centre = float(CENTRE_PIXEL)
    aperture = {
        name: circular_aperture_flux(
            image, mask=masks[name], x=centre, y=centre, radius_px=settings.aperture_radius_px
        )
        for name, image in subtracted.items()
    }
    difference_flux, template_flux = aperture["difference"], aperture["template"]
    features["FLUX_RATIO"] = _ratio(difference_flux, abs(template_flux))
    # The search image holds host + transient, so search / difference flux is
    # (host flux + transient flux) / transient flux, autoScan's GFLUX.
    features["GFLUX"] = _ratio(aperture["search"], difference_flux)


def _binned_count_features(
    features: dict[str, FeatureValue],
    stamps: dict[str, np.ndarray],
    masks: dict[str, np.ndarray],
    *,
    settings: FeatureSettings,
) -> None:
    """DIFFSUMRN, NUMNEGRN, N{2,3}SIG{3,5} and their SHIFT versions, counted on the
    2x2-binned stamps in units of their own noise (autoScan's renormalised pixels)."""
    frame_width = max(settings.background_frame_width_px // 2, 1)
    significance = {}
    for name in ("difference", "template"):
        binned, binned_mask = bin_2x2(stamps[name], mask=masks[name])
        significance[name] = significance_stamp(
            binned, mask=binned_mask, frame_width=frame_width
        )
    difference = significance["difference"]
    if difference is None:
        return
    box5 = centred_box(difference, centre=_BINNED_CENTRE, size=5)
    box7 = centred_box(difference, centre=_BINNED_CENTRE, size=7)
    box5_values = box5[np.isfinite(box5)]
    if box5_values.size:
        features["DIFFSUMRN"] = float(box5_values.sum())
    if np.isfinite(box7).any():
        features["NUMNEGRN"] = float(np.count_nonzero(box7 < 0.0))
    boxes = {5: box5, 7: box7}
    for name, threshold, size in _NEGATIVE_PIXEL_COUNTS:
        features[name] = float(np.count_nonzero(boxes[size] <= -threshold))
    template = significance["template"]
    if template is None:
        return
    for name, threshold, size in _SHIFT_COUNTS:
        template_box = centred_box(template, centre=_BINNED_CENTRE, size=size)
        features[name] = float(
            np.count_nonzero(boxes[size] >= threshold)
            - np.count_nonzero(template_box >= threshold)
        )


def _shape_features(
    features: dict[str, FeatureValue],
    difference: np.ndarray,
    mask: np.ndarray,
    *,
    level: float,
    settings: FeatureSettings,
) -> None:
    """GAUSS, AMP, SCALE, COLMEDS, L1 and LACOSMIC on the peak-normalised difference."""
    normalised = peak_normalised_stamp(difference, mask=mask, level=level)
    if normalised is None:
        return
    centre = float(CENTRE_PIXEL)
    fit = fit_round_gaussian(
        normalised, x_centre=centre, y_centre=centre,
        half_width=settings.gauss_fit_half_width_px,
    )
    if fit is not None:
        features["GAUSS"] = fit.residual_sum_of_squares
        features["AMP"] = fit.amplitude
        features["SCALE"] = fit.sigma_px
    features["COLMEDS"] = _max_column_median(normalised, mask)
    features["L1"] = _signed_l1_ratio(normalised[~mask])
    features["LACOSMIC"] = _lacosmic_ratio(
        np.where(mask, 0.0, normalised), box_size=settings.lacosmic_box_px
    )


def _max_column_median(image: np.ndarray, mask: np.ndarray) -> float:
    """Largest median over the stamp's columns (a bad column stands out), ignoring
    masked pixels and fully masked columns."""
    if not mask.any():
        rows = image.shape[0]  # 51: odd, so the median is the middle order statistic
        return float(np.max(np.partition(image, rows // 2, axis=0)[rows // 2]))
    counts = np.count_nonzero(~mask, axis=0)
    usable_columns = counts > 0
    if not usable_columns.any():
        return math.nan
    # Sorting puts NaN (masked) last, so each column's median sits at the middle of its
    # first ``count`` entries: much cheaper than np.nanmedian on a 51x51 stamp.
    ordered = np.sort(image[:, usable_columns], axis=0)
    counts = counts[usable_columns]
    columns = np.arange(counts.size)
    medians = 0.5 * (ordered[(counts - 1) // 2, columns] + ordered[counts // 2, columns])
    return float(np.max(medians))


def _signed_l1_ratio(values: np.ndarray) -> float:
    """sum |v| / sqrt(|sum v|), carrying the sign of sum v: large for stamps whose
    pixels cancel (dipoles, noise), small for a single-signed source."""
    total = float(np.sum(values))
    if values.size == 0 or total == 0.0:
        return math.nan
    return math.copysign(float(np.sum(np.abs(values))) / math.sqrt(abs(total)), total)


def _box_medians(image: np.ndarray, *, size: int) -> np.ndarray:
    """Median over every size x size window fully inside ``image`` ('valid' mode)."""
    windows = np.lib.stride_tricks.sliding_window_view(image, (size, size))
    flat = windows.reshape(windows.shape[0], windows.shape[1], size * size)
    middle = (size * size) // 2
    return np.partition(flat, middle, axis=-1)[..., middle]


def _lacosmic_ratio(normalised: np.ndarray, *, box_size: int) -> float:
    """Peak of the stamp over peak of its LA Cosmic fine-structure image, in the
    central ``box_size`` box.

    Fine structure (van Dokkum 2001) is med3(image) - med7(med3(image)): it keeps
    PSF-sized structure and removes single-pixel spikes, so a cosmic ray or hot pixel,
    bright in the image but absent from its fine structure, gives a large ratio while a
    PSF-like source gives ~1-3.
    """
    half = box_size // 2
    # med7 over the box needs med3 on box+6 pixels, which needs the image on box+8.
    margin = half + 4
    region = normalised[CENTRE_PIXEL - margin : CENTRE_PIXEL + margin + 1,
                        CENTRE_PIXEL - margin : CENTRE_PIXEL + margin + 1]
    median3 = _box_medians(region, size=3)
    median7 = _box_medians(median3, size=7)
    fine_structure = median3[3:-3, 3:-3] - median7
    peak_fine_structure = float(np.max(fine_structure))
    peak_image = float(np.max(region[4:-4, 4:-4]))
    if not peak_fine_structure > 0.0:
        return math.nan
    return peak_image / peak_fine_structure


def _distance_to_ccd_edge(context: ObservationContext) -> float:
    """Pixels from (x_ccd, y_ccd) to the nearest edge of a DECam CCD; NaN if unknown."""
    rows, columns = CCD_SHAPE
    x, y = context.x_ccd, context.y_ccd
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.nan
    return float(min(x, y, columns - x, rows - y))


def _ratio(numerator: float, denominator: float) -> float:
    if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator == 0.0:
        return math.nan
    return numerator / denominator


def compute_feature_table(
    stamps: np.ndarray,
    *,
    contexts: Sequence[ObservationContext],
    ids: Sequence[int] | None = None,
    settings: FeatureSettings = DEFAULT_FEATURE_SETTINGS,
    channels_last: bool = False,
) -> pd.DataFrame:
    """The 38 features of N samples as a table.

    stamps: (N, 3, 51, 51) float array, channels (template, search, difference) in
        ``CHANNELS`` order; with ``channels_last=True``, (N, 51, 51, 3) as ingest
        writes it.
    contexts: one ObservationContext per sample.
    ids: detection IDs, used as the index (named "ID"); default 0..N-1.
    Returns a DataFrame with columns ``FEATURE_NAMES`` in order (BAND as a string
    column, the rest float64).  Raises ValueError naming the sample on bad input.
    """
    stamps = np.asarray(stamps)
    expected = "(N, 51, 51, 3)" if channels_last else "(N, 3, 51, 51)"
    if stamps.ndim != 4:
        raise ValueError(f"stamps must be a {expected} array, got shape {stamps.shape}")
    if channels_last:
        stamps = np.moveaxis(stamps, -1, 1)
    if stamps.shape[1:] != (len(CHANNELS), STAMP_SIZE, STAMP_SIZE):
        raise ValueError(f"stamps must be a {expected} array, got shape {stamps.shape}")
    n_samples = stamps.shape[0]
    if len(contexts) != n_samples:
        raise ValueError(f"got {len(contexts)} contexts for {n_samples} samples; need one each")
    if ids is None:
        index = pd.RangeIndex(n_samples, name="ID")
    else:
        if len(ids) != n_samples:
            raise ValueError(f"got {len(ids)} ids for {n_samples} samples; need one each")
        index = pd.Index(np.asarray(ids, dtype=np.int64), name="ID")

    template_channel, search_channel, difference_channel = (
        CHANNELS.index("temp"), CHANNELS.index("srch"), CHANNELS.index("diff")
    )
    rows: list[dict[str, FeatureValue]] = []
    for row in range(n_samples):
        sample_id = index[row]
        try:
            rows.append(compute_features(
                stamps[row, template_channel], stamps[row, search_channel],
                stamps[row, difference_channel], context=contexts[row], settings=settings,
            ))
        except (ValueError, TypeError) as error:
            raise ValueError(f"sample ID {sample_id} (row {row}): {error}") from error
    table = pd.DataFrame.from_records(rows, index=index, columns=list(FEATURE_NAMES))
    numeric = [name for name in FEATURE_NAMES if name != "BAND"]
    table[numeric] = table[numeric].astype(np.float64)
    return table


__all__ = [
    "DEFAULT_FEATURE_SETTINGS",
    "FeatureSettings",
    "compute_feature_table",
    "compute_features",
]
