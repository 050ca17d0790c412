"""Survey mode (Ayyar et al. 2022, section 4.6): score new detections, vet them by several
observers, retrain on the vetted set and choose the alert threshold.  See docs/survey.md.

Modules: ``scoring`` (streamed batch scoring of a release, tar or stamp array),
``observers`` (simulated observers' votes), ``vetting`` (majority labels with ties, too few
votes, unknown ids and duplicates reported), ``retrain`` (fine-tune / from scratch),
``threshold`` (by target MDR, FPR or fixed), ``report`` (the comparison and plots),
``config`` (survey/params.yaml as frozen config objects).
"""
