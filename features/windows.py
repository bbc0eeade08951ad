"""Rolling-window statistics on a grid of cadence bins, exact and independent of history.

Why bins and composition rather than cumulative sums: a cumulative sum makes the value at an
instant depend (in its last bits) on where the loaded history starts, so training (bulk
history) and online scoring (only the latest window) would disagree. Here every statistic of
a window is built only from the bins inside it, in a fixed order:

1. readings are reduced to per-bin aggregates (count, means, centred second moments, min,
   max, last, EWMA sums) with ``np.*.reduceat``, one pass over the rows;
2. a window of ``K`` bins is composed from ``m`` sub-windows of ``K/m`` bins with Chan's
   parallel formulas (numerically stable: moments are centred, times are relative to the
   window end), following the prime factors of ``m`` — a 24 h window of 10-minute bins costs
   six small compositions, not 144 additions.

Times inside a window are hours relative to its end (negative), so a slope is in units per
hour and its numbers stay small.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

US_PER_HOUR = 3_600_000_000


@dataclass
class Aggregates:
    """Moments of the samples in the window ending at each bin; arrays of shape (cells, bins).

    ``mt``/``mv`` are the mean time (hours from the window end) and mean value; ``m2v``,
    ``m2t`` and ``ctv`` are centred sums of squares and co-products; ``ew_n``/``ew_s`` are the
    decay-weighted count and sum; ``last_t`` is the newest sample's time (hours, negative).
    Empty windows have n = 0, zero moments, mn = +inf, mx = -inf, last = NaN.
    """

    n: np.ndarray
    mt: np.ndarray
    mv: np.ndarray
    m2v: np.ndarray
    m2t: np.ndarray
    ctv: np.ndarray
    mn: np.ndarray
    mx: np.ndarray
    ew_n: np.ndarray
    ew_s: np.ndarray
    last_v: np.ndarray
    last_t: np.ndarray


_FILL = {
    "n": 0.0,
    "mt": 0.0,
    "mv": 0.0,
    "m2v": 0.0,
    "m2t": 0.0,
    "ctv": 0.0,
    "mn": np.inf,
    "mx": -np.inf,
    "ew_n": 0.0,
    "ew_s": 0.0,
    "last_v": np.nan,
    "last_t": np.nan,
}


def bin_aggregates(
    cell: np.ndarray, tau: np.ndarray, value: np.ndarray, n_cells: int, n_bins: int
) -> Aggregates:
    """Per-bin aggregates from rows already grouped by ``cell`` (= series * n_bins + bin) and
    in time order within a cell. ``tau`` is each row's time in hours from its bin's end."""
    size = n_cells * n_bins
    out = {name: np.full(size, fill) for name, fill in _FILL.items()}
    if len(cell):
        starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        counts = np.diff(np.r_[starts, len(cell)])
        where = cell[starts]
        n = counts.astype(np.float64)
        mv = np.add.reduceat(value, starts) / n
        mt = np.add.reduceat(tau, starts) / n
        dv = value - np.repeat(mv, counts)
        dt = tau - np.repeat(mt, counts)
        last = starts + counts - 1
        out["n"][where] = n
        out["mv"][where] = mv
        out["mt"][where] = mt
        out["m2v"][where] = np.add.reduceat(dv * dv, starts)
        out["m2t"][where] = np.add.reduceat(dt * dt, starts)
        out["ctv"][where] = np.add.reduceat(dt * dv, starts)
        out["mn"][where] = np.minimum.reduceat(value, starts)
        out["mx"][where] = np.maximum.reduceat(value, starts)
        out["ew_n"][where] = n
        out["ew_s"][where] = n * mv
        out["last_v"][where] = value[last]
        out["last_t"][where] = tau[last]
    return Aggregates(**{k: v.reshape(n_cells, n_bins) for k, v in out.items()})


def _shift(x: np.ndarray, bins: int, fill: float) -> np.ndarray:
    """``x`` moved ``bins`` later along the time axis; the vacated bins hold ``fill``."""
    if bins == 0:
        return x
    out = np.full_like(x, fill)
    if bins < x.shape[1]:
        out[:, bins:] = x[:, :-bins]
    return out


def _compose_once(agg: Aggregates, k: int, m: int, bin_hours: float, decay: float) -> Aggregates:
    """Windows of ``m * k`` bins from ``m`` adjacent windows of ``k`` bins (Chan et al.).

    Sub-window ``j`` is ``agg`` shifted ``j * k`` bins later, taken one field at a time when
    used (a copy of the field, not of every field of every sub-window at once: the edge
    composes in a small memory budget); the arithmetic is the same, so are the bits."""

    def part(j: int, name: str) -> np.ndarray:
        return _shift(getattr(agg, name), j * k, _FILL[name])

    offsets = [-j * k * bin_hours for j in range(m)]
    n = agg.n.copy()
    s_t = agg.n * agg.mt
    s_v = agg.n * agg.mv
    for j in range(1, m):
        p_n = part(j, "n")
        n += p_n
        s_t += p_n * (part(j, "mt") + offsets[j])
        s_v += p_n * part(j, "mv")
    with np.errstate(invalid="ignore", divide="ignore"):
        mt = np.where(n > 0, s_t / n, 0.0)
        mv = np.where(n > 0, s_v / n, 0.0)
    del s_t, s_v
    m2v = np.zeros_like(n)
    m2t = np.zeros_like(n)
    ctv = np.zeros_like(n)
    mn = agg.mn.copy()
    mx = agg.mx.copy()
    ew_n = agg.ew_n.copy()
    ew_s = agg.ew_s.copy()
    for j in range(m):
        p_n = part(j, "n")
        d_t = part(j, "mt") + offsets[j] - mt
        d_v = part(j, "mv") - mv
        m2v += part(j, "m2v") + p_n * d_v * d_v
        m2t += part(j, "m2t") + p_n * d_t * d_t
        ctv += part(j, "ctv") + p_n * d_t * d_v
        if j:
            np.minimum(mn, part(j, "mn"), out=mn)
            np.maximum(mx, part(j, "mx"), out=mx)
            weight = decay ** (j * k)
            ew_n += weight * part(j, "ew_n")
            ew_s += weight * part(j, "ew_s")
    del d_t, d_v
    last_v = part(m - 1, "last_v").copy()
    last_t = part(m - 1, "last_t") + offsets[-1]
    for j in range(m - 2, -1, -1):  # older to newer
        seen = part(j, "n") > 0
        last_v = np.where(seen, part(j, "last_v"), last_v)
        last_t = np.where(seen, part(j, "last_t") + offsets[j], last_t)
    return Aggregates(n, mt, mv, m2v, m2t, ctv, mn, mx, ew_n, ew_s, last_v, last_t)


def _prime_factors(m: int) -> list[int]:
    out, p = [], 2
    while p * p <= m:
        while m % p == 0:
            out.append(p)
            m //= p
        p += 1
    if m > 1:
        out.append(m)
    return out


def _columns_from(agg: Aggregates, start: int, *, consume: bool = False) -> Aggregates:
    """The bins of ``agg`` from column ``start`` on, as arrays of their own; ``consume``
    lets go of each of ``agg``'s fields once copied (one field more held at a time, not a
    whole second set)."""
    if start <= 0:
        return agg
    out: dict[str, np.ndarray] = {}
    for f in fields(agg):
        out[f.name] = getattr(agg, f.name)[:, start:].copy()
        if consume:
            setattr(agg, f.name, out[f.name])
    return Aggregates(**out)


def window_aggregates(
    bins: Aggregates, sizes: list[int], bin_hours: float, decay: float, keep_from: int = 0
) -> dict[int, Aggregates]:
    """Aggregates for windows of each size (in bins), reusing the largest divisor computed.

    With ``keep_from``, the windows are returned from that bin on (column 0 is bin
    ``keep_from``), and every composition keeps only the bins a later one reads: a window of
    ``m * k`` bins at bin ``c`` reads its ``k``-bin windows at ``c - j * k`` (j < m), so a
    level needs ``(m - 1) * k`` bins before the first one its successor needs. The numbers
    of the bins kept are the same, bit for bit; only fewer are computed and held (the edge
    scores one instant in a small memory budget)."""
    steps: list[tuple[int, int, int]] = []  # (from, prime, to), in computing order
    built = {1}
    for size in sorted(sizes):
        k = max(d for d in built if size % d == 0)
        for p in _prime_factors(size // k):
            steps.append((k, p, k * p))
            k *= p
        built.add(size)
    need = dict.fromkeys(sizes, keep_from)  # the first bin each level must hold exactly
    last_use: dict[int, int] = {}
    for i in range(len(steps) - 1, -1, -1):  # consumers before producers
        k, p, to = steps[i]
        need[k] = max(0, min(need.get(k, need[to]), need[to] - (p - 1) * k))
        last_use.setdefault(k, i)
    start = {1: need.get(1, 0)}
    done: dict[int, Aggregates] = {1: _columns_from(bins, start[1])}
    for i, (k, p, to) in enumerate(steps):
        composed, origin = _compose_once(done[k], k, p, bin_hours, decay), start[k]
        if last_use[k] == i:  # no later composition reads level k
            if k in sizes:
                done[k] = _columns_from(done[k], keep_from - start[k], consume=k > 1)
                start[k] = keep_from
            else:
                del done[k]
        done[to] = _columns_from(composed, need[to] - origin, consume=True)
        start[to] = need[to]
        del composed
    return {
        size: _columns_from(done[size], keep_from - start[size], consume=size > 1) for size in sizes
    }


def window_stats(
    agg: Aggregates, baseline_mean: np.ndarray, baseline_std: np.ndarray
) -> dict[str, np.ndarray]:
    """The WINDOW_STATS of :mod:`features.definitions` from one window's aggregates."""
    n = agg.n
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, agg.mv, np.nan)
        std = np.where(n > 1, np.sqrt(np.maximum(agg.m2v, 0.0) / (n - 1)), np.nan)
        slope = np.where((n > 1) & (agg.m2t > 1e-14), agg.ctv / agg.m2t, np.nan)
        ewma = np.where(agg.ew_n > 0, agg.ew_s / agg.ew_n, np.nan)
        dev = np.where(baseline_std > 0, (mean - baseline_mean) / baseline_std, np.nan)
    return {
        "count": n,
        "mean": mean,
        "std": std,
        "min": np.where(n > 0, agg.mn, np.nan),
        "max": np.where(n > 0, agg.mx, np.nan),
        "slope": slope,
        "ewma": ewma,
        "dev": dev,
    }
