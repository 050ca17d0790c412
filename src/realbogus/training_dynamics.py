"""Training dynamics: how a model's hold on each training sample's label evolves while it
trains.  Recorded by the cross-fit for mining (:mod:`realbogus.mining.evidence` reads it).

The area under the margin (Pleiss et al. 2020, "Identifying Mislabeled Data using the Area
Under the Margin Ranking"): the margin of a training sample is the model's probability of
its given label minus that of the other label, ``2 P(given) - 1`` in [-1, 1] for two
classes; its area is the mean of the margin over the training steps (epochs of a CNN,
iterations of boosted trees).  A sample whose label contradicts the samples that look like
it keeps a low margin until the model memorises it, if ever.  A CNN's scores are those its
training step computed on the sample (as Pleiss et al. take them: no extra pass over the
data, :mod:`realbogus.cnn.step_scores`) or, by default, a scoring pass after each epoch
(``SCORE_SOURCES``); boosted trees' are their staged predictions.
"""

from __future__ import annotations

import numpy as np

# Where a CNN's per-epoch training scores come from (params.yaml crossfit.margin_scores):
# epoch_end, a scoring pass over the training rows after each epoch (inference mode, the
# epoch's final weights); step, the training step's own outputs (no extra pass; the batch's
# dropout and statistics, the weights of the moment).
SCORE_SOURCES = ("epoch_end", "step")


def margin_area(*, given_labels: np.ndarray, epoch_scores: np.ndarray) -> np.ndarray:
    """(N,) area under the margin of each sample over the training it took part in.

    given_labels: (N,) 0/1, the labels trained on.  epoch_scores: (T, N) artifact scores
    after each of T epochs / iterations, NaN where the sample was not a training sample of
    the model scored.  Returns the mean over the recorded steps of 2 P(given label) - 1, in
    [-1, 1]; NaN for a sample never recorded.
    """
    labels = np.asarray(given_labels)
    if labels.ndim != 1 or not np.isin(labels, (0, 1)).all():
        raise ValueError("given_labels: expected a (N,) array of 0/1 labels")
    scores = np.asarray(epoch_scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != labels.shape[0]:
        raise ValueError(f"epoch_scores: expected shape (T, {labels.shape[0]}), got {scores.shape}")
    recorded = np.isfinite(scores)
    if (scores[recorded] < 0).any() or (scores[recorded] > 1).any():
        raise ValueError("epoch_scores: artifact scores must lie in [0, 1] (NaN where not recorded)")
    given_probability = np.where(labels[None, :] == 1, scores, 1.0 - scores)
    margin = np.where(recorded, 2.0 * given_probability - 1.0, 0.0)
    counts = recorded.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, margin.sum(axis=0) / counts, np.nan)
