"""Ensemble-disagreement mining of mislabelled samples (Ayyar et al. 2022, section 5).

``ranking``: the suspicion score, candidate selection and candidates.csv.
``tables``: per-member category tables and cross-member placement (Table 2, Figures 6-7).
``gallery``: a PNG of the top candidates' stamps.
``truth_eval``: evaluation against simulated truth and cleanlab (the only module that
reads truth; mining never imports it).
"""
