"""Review rounds judged against the truth: each round on its own pool, cleanlab on the same
round's scores, the cumulative recall over the rounds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from realbogus.mining.rounds import empty_reviews, review_rounds, write_round_labels
from realbogus.mining.run import EnsembleScores, evaluate_rounds, mine_round

from .synthetic import make_ensemble


def _write_round(folder, *, ensemble, labels, reviews, budget):
    write_round_labels(labels=pd.DataFrame({"id": ensemble.ids, "label": labels}), reviews=reviews,
                       folder=folder / "start", command=None)
    (folder / "crossfit").mkdir(parents=True)
    for member, name in enumerate(ensemble.member_names):
        pd.DataFrame({"id": ensemble.ids, "fold": 0, "label": labels,
                      "artifact_score": ensemble.member_scores[:, member]}).to_parquet(
            folder / "crossfit" / f"{name}.parquet")
    order = np.argsort(ensemble.ids)
    scores = EnsembleScores(ids=ensemble.ids[order], given_labels=labels[order], member_names=ensemble.member_names,
                            member_scores=ensemble.member_scores[order])
    mine_round(scores=scores, reviews=reviews, features=None, stamps=ensemble.stamps[order], rows=np.arange(len(order)),
               out_dir=folder / "mine", reports_dir=folder / "reports", budget=budget, gallery_size=4)
    return pd.read_csv(folder / "mine" / "candidates.csv")


def test_each_round_is_judged_on_its_pool_and_recall_adds_up(tmp_path):
    ensemble = make_ensemble(n_samples=1500, flip_rate=0.04, seed=3)
    wrong = ensemble.given_labels != ensemble.true_labels
    rounds = review_rounds({"round1": {"after": "release", "budget": 40}, "round2": {"after": "round1", "budget": 30}})
    first = _write_round(tmp_path / "round1", ensemble=ensemble, labels=ensemble.given_labels,
                         reviews=empty_reviews(), budget=40)
    # A perfect reviewer fixes round 1's candidates; round 2 starts from those labels.
    position = pd.Series(np.arange(len(ensemble.ids)), index=ensemble.ids)
    rows = position.loc[first["id"]].to_numpy()
    labels = ensemble.given_labels.copy()
    labels[rows] = ensemble.true_labels[rows]
    reviews = pd.DataFrame({"id": first["id"], "round": "round1", "old_label": ensemble.given_labels[rows],
                            "new_label": labels[rows], "outcome": np.where(wrong[rows], "corrected", "confirmed")})
    second = _write_round(tmp_path / "round2", ensemble=ensemble, labels=labels, reviews=reviews, budget=30)
    assert not set(first["id"]) & set(second["id"])

    truth = pd.DataFrame({"id": ensemble.ids, "given_label": ensemble.given_labels,
                          "true_label": ensemble.true_labels, "mislabel_mechanism": ensemble.mechanism})
    order = np.argsort(ensemble.ids)
    evaluation = evaluate_rounds(rounds=rounds, rounds_dir=tmp_path, members=ensemble.member_names,
                                 miner="ensemble_disagreement", truth=truth, stamps=ensemble.stamps[order],
                                 rows=np.arange(len(order)), reports_dir=tmp_path / "reports")
    headline = json.loads(json.dumps(evaluation.headline, allow_nan=False))
    found1 = int(wrong[rows].sum())
    rows2 = position.loc[second["id"]].to_numpy()
    found2 = int(wrong[rows2].sum())
    assert [entry["round"] for entry in headline["rounds"]] == ["round1", "round2"]
    assert headline["rounds"][0]["pool"] == 1500 and headline["rounds"][1]["pool"] == 1460
    assert headline["rounds"][0]["mislabelled_in_pool"] == int(wrong.sum())
    assert headline["rounds"][1]["mislabelled_in_pool"] == int(wrong.sum()) - found1
    assert headline["rounds"][1]["cumulative_found"] == found1 + found2
    assert headline["cumulative_recall"] == (found1 + found2) / int(wrong.sum())
    assert headline["rounds"][1]["miner_precision_at_budget"] == found2 / 30
    assert headline["ours_auprc"] == headline["rounds"][0]["miner_auprc"]
    # Each round's margin over the best cleanlab method has its sampling interval, recomputed
    # here from the round's pool: the miner's ranking against that method's suspicion.
    from realbogus.mining.truth_eval import auprc_margin_interval, cleanlab_suspicion

    ranking = pd.read_parquet(tmp_path / "round1" / "mine" / "ranking.parquet").set_index("id")["rank_score"]
    best = headline["rounds"][0]["best_cleanlab_method"]
    theirs = cleanlab_suspicion(given_labels=ensemble.given_labels[order],
                                member_scores=ensemble.member_scores[order])[best][0]
    expected = auprc_margin_interval(is_mislabelled=wrong[order], ours=ranking.loc[ensemble.ids[order]].to_numpy(),
                                     theirs=theirs)
    assert (headline["auprc_margin_low"], headline["auprc_margin_high"]) == expected
    assert (headline["rounds"][0]["auprc_margin_low"], headline["rounds"][0]["auprc_margin_high"]) == expected
    margin = headline["ours_auprc"] - headline["rounds"][0]["best_cleanlab_auprc"]
    assert expected[0] - 0.02 <= margin <= expected[1] + 0.02
    table = evaluation.rounds
    assert set(table["method"]) > {"ensemble_disagreement", "cleanlab_ensemble_self_confidence"}
    assert set(table["subset_kind"]) == {"all", "direction", "mechanism"}
    assert table.loc[table["miner"] & (table["subset"] == "all"), "cumulative_found"].tolist() == [found1,
                                                                                                   found1 + found2]
    for name in ("rounds.csv", "comparison/round1.csv", "comparison/round2.csv", "comparison/gallery_truth_round2.png"):
        assert (tmp_path / "reports" / name).stat().st_size > 0
