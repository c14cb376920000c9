"""What counts as a number in a file a user gives, and standardising without overflow.

One strict rule for the table reader (step 1) and ``predict``: a number is written in decimal,
optionally signed, with an optional fraction and exponent (``-1.5e3``). A column whose cells are
written as a spreadsheet shows numbers (``6,683``, ``$1,200``, ``86%``) is read as those numbers
too, and step 1 says so (``spreadsheet_number``). Python's ``float`` also
takes ``1_000``, ``nan``, ``inf`` and ``infinity``; none of those is what a table cell that means a
number looks like, so they are refused here rather than read as something else.

Standardising divides by the standard deviation of the training rows; computed directly, the
squares of values above about 1e154 overflow (and below about 1e-154 vanish), and every value
would become 0. Such columns are computed on values first scaled by their largest magnitude,
which gives the same statistics without leaving the float64 range. Ordinary columns use the
direct computation, so their numbers stay exactly as before.
"""

from __future__ import annotations

import math
import re

import numpy as np

NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Numbers as a spreadsheet shows them: thousands separated by commas ("6,683", "-1,234.5"), a
# currency sign before ("$1,200") or a percent sign after ("86%", read as 0.86).
SPREADSHEET = re.compile(
    r"(?P<sign>[+-]?)(?P<currency>[$€£¥]?)"
    r"(?P<digits>\d{1,3}(,\d{3})+(\.\d*)?|\d+(\.\d*)?|\.\d+)(?P<percent>%?)"
)
# The networks compute in float32: a standardised value must fit in it.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Below this a standard deviation computed from squares has lost its precision.
TINY = 1e-150


def parse_number(cell: str) -> float | None:
    """The value of a decimal number (possibly infinite, as ``1e400``), or None if ``cell`` is
    not written as one."""
    text = cell.strip()
    return float(text) if NUMBER.fullmatch(text) else None


def spreadsheet_number(cell: str) -> float | None:
    """The value of a number written as a spreadsheet shows it (``6,683``, ``$1,200``,
    ``86%`` as 0.86), or None if ``cell`` is not one or is a plain decimal number."""
    match = SPREADSHEET.fullmatch(cell.strip())
    if match is None or not (match["currency"] or match["percent"] or "," in match["digits"]):
        return None
    value = float(match["sign"] + match["digits"].replace(",", ""))
    return value / 100 if match["percent"] else value


def finite_number(cell: str) -> float | None:
    """The value of ``cell`` if it is a decimal number within float64's range, else None."""
    value = parse_number(cell)
    return value if value is not None and math.isfinite(value) else None


def canonical(cell: str) -> str:
    """A label as one spelling per value: ``1``, ``1.0`` and ``+1`` are all ``1``; a label that
    is not a number stays as written (stripped)."""
    value = finite_number(cell)
    if value is None:
        return cell.strip()
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation of finite float64 ``values`` (rows first), without
    overflow or underflow; a zero deviation (a constant column) becomes 1."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        mean, std = values.mean(axis=0), values.std(axis=0)
        # Squares above ~1e308 overflow, and below ~1e-308 vanish: such columns are scaled.
        extreme = ~np.isfinite(mean) | ~np.isfinite(std) | (std < TINY)
        if extreme.any():
            big = np.abs(values).max(axis=0)
            big = np.where(big > 0, big, 1.0)
            scaled = values / big
            mean = np.where(extreme, scaled.mean(axis=0) * big, mean)
            std = np.where(extreme, scaled.std(axis=0) * big, std)
    return mean, np.where(std > 0, std, 1.0)


def standardise(values: np.ndarray, mean, std) -> np.ndarray:
    """``(values - mean) / std`` in float64, computed on scaled values where the direct
    difference would overflow."""
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        out = (values - mean) / std
    bad = ~np.isfinite(out)
    if bad.any():
        scale = np.maximum(np.abs(mean), std)
        with np.errstate(over="ignore", invalid="ignore"):
            safe = (values / scale - mean / scale) / (std / scale)
        out = np.where(bad, safe, out)
    return out
