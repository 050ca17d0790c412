"""Detection IDs: integers that fit in int64, parsed exactly.

Every table in the project keys samples by an int64 ID.  A value that does not fit (the
text ``99999999999999999999``), is not a whole number, or was rounded by a float on its
way in must be refused, not wrapped round to ``-9223372036854775808`` by ``astype``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_FLOAT_EXACT_LIMIT = 2**53  # beyond this a float64 no longer holds every integer
_INTEGER_TEXT = re.compile(r"^[ \t]*[+-]?[0-9]+[ \t]*$")


def exact_int64(values: Any, *, minimum: int = INT64_MIN) -> tuple[np.ndarray, np.ndarray]:
    """(values as int64, mask of the values that are not integers in [minimum, INT64_MAX]).

    values: a pandas Series or anything ``np.asarray`` takes: integer, unsigned, float
    (whole numbers up to 2**53 only) or text / object columns (decimal digits with an
    optional sign, parsed by Python's unbounded ``int``).  Bad entries hold 0 in the
    returned array; the caller names them from the mask.
    """
    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    array = array.reshape(-1)
    kind = array.dtype.kind
    if kind == "i":
        bad = array < minimum
        return np.where(bad, 0, array).astype(np.int64), bad
    if kind == "u":
        bad = (array > np.uint64(INT64_MAX)) | (array < max(minimum, 0))
        return np.where(bad, 0, array).astype(np.int64), bad
    if kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(array) | (np.abs(array) > _FLOAT_EXACT_LIMIT) | (np.floor(array) != array)
            bad |= array < minimum
        return np.where(bad, 0, array).astype(np.int64), bad
    parsed = np.zeros(len(array), dtype=np.int64)
    bad = np.zeros(len(array), dtype=bool)
    pending = np.arange(len(array))
    if len(array) and all(isinstance(value, str) for value in array[:64].tolist()):
        # Text of at most 18 digits always fits int64: convert those at once, exactly.
        import pandas as pd

        text = pd.Series(array, dtype=object)
        short = text.str.fullmatch(r"[ \t]*[+-]?[0-9]{1,18}[ \t]*").fillna(False).to_numpy(dtype=bool, copy=True)
        parsed[short] = pd.to_numeric(text[short].str.strip()).to_numpy(np.int64)
        short &= parsed >= minimum
        pending = np.flatnonzero(~short)
    for index in pending.tolist():
        value = array[index]
        number = _exact_int(value)
        if number is None or not minimum <= number <= INT64_MAX:
            bad[index] = True
        else:
            parsed[index] = number
    return parsed, bad


def _exact_int(value: Any) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        exact = np.isfinite(value) and abs(value) <= _FLOAT_EXACT_LIMIT and float(value).is_integer()
        return int(value) if exact else None
    if isinstance(value, (str, bytes)):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        return int(text) if _INTEGER_TEXT.match(text) else None
    return None


__all__ = ["INT64_MAX", "INT64_MIN", "exact_int64"]
