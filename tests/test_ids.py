"""Detection IDs parsed exactly: nothing that does not fit int64 is wrapped round or rounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.ids import INT64_MAX, INT64_MIN, exact_int64


@pytest.mark.parametrize(("values", "expected", "bad"), [
    (["1", " 42 ", "+5", "-7", "9223372036854775807", "9223372036854775808", "99999999999999999999"],
     [1, 42, 5, -7, INT64_MAX, 0, 0], [False, False, False, False, False, True, True]),
    (["", "1.0", "1e3", "1_000", "\u0663", "0x10", "nan", None, 3], [0, 0, 0, 0, 0, 0, 0, 0, 3],
     [True, True, True, True, True, True, True, True, False]),
    (np.array([0, INT64_MAX], dtype=np.int64), [0, INT64_MAX], [False, False]),
    (np.array([INT64_MAX, INT64_MAX + 1], dtype=np.uint64), [INT64_MAX, 0], [False, True]),
    (np.array([3.0, 2.5, np.nan, 2.0**53, 2.0**53 + 2, 1e20]), [3, 0, 0, 2**53, 0, 0],
     [False, True, True, False, True, True]),
    ([True, 10**20, -(2**63)], [0, 0, INT64_MIN], [True, True, False]),
])
def test_exact_int64(values, expected, bad) -> None:
    parsed, mask = exact_int64(pd.Series(values, dtype=object) if isinstance(values, list) else values)
    assert parsed.dtype == np.int64
    assert parsed.tolist() == expected and mask.tolist() == bad


def test_minimum_and_many_short_texts_on_the_fast_path() -> None:
    texts = pd.Series([str(i) for i in range(-5, 100_000)] + ["12345678901234567890"], dtype=object)
    parsed, bad = exact_int64(texts, minimum=0)
    assert bad.tolist() == [True] * 5 + [False] * 100_000 + [True]
    assert parsed[5:-1].tolist() == list(range(100_000))
