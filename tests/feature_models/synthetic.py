"""A synthetic feature table whose labels two features carry, with missing template features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from realbogus.release.layout import FEATURE_NAMES


def synthetic_features(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    table = pd.DataFrame(rng.normal(size=(n, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    table["BAND"] = rng.choice(list("griz"), n)
    # Two features carry the label; the template-source features go missing for some rows.
    table["SNR"] += 3 * labels
    table["SPREAD_MODEL"] -= 2 * labels
    no_template_source = rng.random(n) < 0.3
    table.loc[no_template_source, ["A_REF", "B_REF", "MAG_REF", "MAG_REF_ERR", "NN_DIST_RENORM"]] = np.nan
    return table, labels
