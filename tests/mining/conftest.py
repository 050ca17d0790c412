from __future__ import annotations

import pytest

from .synthetic import SyntheticEnsemble, make_ensemble


@pytest.fixture(scope="session")
def ensemble() -> SyntheticEnsemble:
    """N=2000 samples, five members, 2% of given labels flipped."""
    return make_ensemble()
