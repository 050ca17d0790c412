"""Reference figures of the REAL DES-SN autoScan release, recorded as facts with their source.

Pixel statistics: measured on ten public DES-SN autoScan stamps (the sample data of
Ayyar et al. 2022), GIF values 0..255, per channel, the way
``realbogus.release.pixel_statistics`` measures a release: [p10, p50, p90] over the
stamps; shares of all pixels at 0 and 255.  Ten stamps are a small sample: the ranges
are what the real release looks like, not a precise distribution.

Difficulty: Ayyar et al. 2022 (PASP 134, 094501) for the CNNs, the category table and the
relabelling counts.
"""

from __future__ import annotations

SOURCE_PIXELS = "ten public DES-SN autoScan stamps (Ayyar et al. 2022 sample data), GIF values 0..255"

# channel -> figure -> [p10, p50, p90] (or one share of all pixels)
REAL_GIF_STATISTICS: dict[str, dict[str, object]] = {
    "temp": {"background": [5, 12, 88], "noise": [3, 5, 33], "background_over_noise": [2, 2, 3],
             "peak": [255, 255, 255], "fraction_at_0": 0.019, "fraction_at_255": 0.017},
    "srch": {"background": [10, 26, 104], "noise": [4, 11, 42], "background_over_noise": [2, 2, 3],
             "peak": [255, 255, 255], "fraction_at_0": 0.006, "fraction_at_255": 0.017},
    "diff": {"background": [62, 106, 123], "noise": [24, 39, 45], "background_over_noise": [2, 3, 3],
             "peak": [255, 255, 255], "fraction_at_0": 0.005, "fraction_at_255": 0.017},
}
# Of the 1.7 % of pixels at 255, 1.4 % are the corner tick marks: 0.3 % lie elsewhere.
REAL_FRACTION_AT_255_OUTSIDE_TICKS = 0.003

# Goldstein et al. 2015's forest ROC points: realbogus.metrics.GOLDSTEIN_2015_POINTS.
# Ayyar et al. 2022: CNN test AUC, and the share of samples each model put in category 1
# or 6 (strongly mis-classified), and of those inspected the share truly mislabelled.
AYYAR_2022_CNN_AUC = 0.994
AYYAR_2022_STRONGLY_MISCLASSIFIED_SHARE = (0.0024, 0.0067)
AYYAR_2022_INSPECTED_MISLABELLED_SHARE = 0.9
# The relabelling: samples in the release, reviewed, changed, and the directions.
AYYAR_2022_RELEASE_SIZE = 898_963
AYYAR_2022_REVIEWED = 8_093
AYYAR_2022_CHANGED = 7_402
AYYAR_2022_CHANGED_0_TO_1 = 5_636
AYYAR_2022_CHANGED_1_TO_0 = 1_766
