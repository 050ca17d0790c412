from __future__ import annotations

import pytest

from .synthetic import SyntheticEnsemble, make_ensemble


@pytest.fixture(scope="session")
def ensemble() -> SyntheticEnsemble:
    """N=2000 samples, five members, 2% of given labels flipped."""
    return make_ensemble()


@pytest.fixture
def drawn_figures(monkeypatch):
    """The matplotlib figures saved during a test, kept to read what a person sees on them."""
    from matplotlib.figure import Figure

    figures = []
    original = Figure.savefig

    def keep(figure, *args, **kwargs):
        figures.append(figure)
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures
