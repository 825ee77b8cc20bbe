"""Requantisation in the IR: the schema of a ``requant`` op (kept here, in one place), the
hardware form of its thresholds, and the compact form both backends store
(docs/arithmetic.md, "Compact requantisation"; docs/ir.md).

A ``requant`` op's attrs::

    out_min: int
    sets:    [{thresholds: [[T]]·R, direction: [d]·R}]              one per fold iteration
    compact: {frac: F, tie: t,                                       derived, proven equal
              sets: [{base: [B]·R, step: [S]·R, exceptions: [[r, x, δ], ...],
                      knees: [[r, K, B2, S2], ...]}]}       (knees: only if the op has one)

``sets`` is the specification (the golden model counts thresholds: ``y = out_min +
#{j : d·x ≥ T_j}``).  ``compact`` is what hardware stores instead of the L thresholds of
a row: hardware compares ``x`` itself with ascending thresholds ``T'`` (``T' = T`` where
``d = +1``; ``T'_j = 1 − T_{L−1−j}`` where ``d = −1``, the row then counts down), clipped
into ``[lo, hi + 1]`` of the input range (``hw_form``).  The compact row regenerates them::

    T̂_j = ceil((B + j·S + tie_j) / 2^F),   tie_j = 1 if (t = 1 and j even) or
                                                        (t = 2 and j odd), else 0

(``S ≥ 0``, ``S ≥ 1`` when ``t ≠ 0``, so ``T̂`` ascends for every ``j ≥ 0``).  The count
``c(x) = #{j < L : x ≥ T̂_j}`` plus the ``δ`` of an exception ``[r, x, δ]`` of that row at
that ``x`` equals ``#{j : x ≥ T'_j}`` for every ``x`` in ``[lo, hi]``.  A row with a
**knee** ``[r, K, B2, S2]`` counts with ``(B2, S2)`` instead of ``(B, S)`` where ``x ≥ K``
(two affine segments, each counting all L thresholds on its side of ``K``: a LeakyReLU of
slope neither 0 nor 1 in front of the quantiser).  That is what
``CompactRequant`` proves when it derives the form, and what ``check_compact`` proves
again whenever a backend reads it.  ``tie`` reproduces round-half-to-even ties
(re-quantising by a power of two: the thresholds step 1, 3, 1, 3, …).

This module imports neither the golden model nor torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model import Op, range_bits

TIE_NONE, TIE_EVEN, TIE_ODD = 0, 1, 2        # +1 on no / even / odd threshold indices
MAX_FRAC = 16                                # fraction bits tried before exceptions
MAX_EXCEPTIONS = 4096                        # exception points of one op (a sanity bound)
FLOOR_BITS_PER_CHANNEL_SET = 32              # the storage floor's requantisation constants
_INF = 1 << 62


# -- the schema ----------------------------------------------------------------------------

def levels(op: Op) -> int:
    """L: thresholds per row (the output takes L + 1 values)."""
    return len(op.attrs["sets"][0]["thresholds"][0])


def rows(op: Op) -> int:
    """R: parameter rows per set (the channel count, or 1 for a row shared by all)."""
    return len(op.attrs["sets"][0]["thresholds"])


def channel_sets(op: Op) -> int:
    """Channel × parameter-set pairs with their own parameters: rows × sets (a shared row
    counts once per set)."""
    return rows(op) * len(op.attrs["sets"])


def hw_form(op: Op, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """``(T', neg)``: per set and row the ascending thresholds on ``x`` itself, clipped into
    ``[lo, hi + 1]`` (shape (sets, rows, L)), and 1 where the row counts down."""
    sets = op.attrs["sets"]
    th = np.asarray([s["thresholds"] for s in sets], dtype=np.int64)
    d = np.asarray([s["direction"] for s in sets], dtype=np.int64)
    flip = (d < 0)[..., None]
    t = np.where(flip, 1 - th[..., ::-1], th)           # #{-x >= T} = L - #{x >= 1 - T}
    return np.clip(t, lo, hi + 1), (d < 0).astype(np.int64)


# -- the compact form ----------------------------------------------------------------------

def tie_terms(tie: int, n: int) -> np.ndarray:
    """``tie_j`` for j = 0 .. n-1."""
    j = np.arange(n)
    if tie == TIE_EVEN:
        return (j % 2 == 0).astype(np.int64)
    if tie == TIE_ODD:
        return (j % 2 == 1).astype(np.int64)
    return np.zeros(n, dtype=np.int64)


def compact_thresholds(base, step, frac: int, tie: int, n: int) -> np.ndarray:
    """Unclipped ``T̂_j`` for j < n of every row: shape ``base.shape + (n,)``."""
    base = np.asarray(base, dtype=np.int64)[..., None]
    step = np.asarray(step, dtype=np.int64)[..., None]
    v = base + np.arange(n, dtype=np.int64) * step + tie_terms(tie, n)
    return -((-v) >> frac)                               # ceil(v / 2^frac)


def count(x, base: int, step: int, frac: int, tie: int, L: int,
          exceptions: dict | None = None, knee: tuple | None = None) -> np.ndarray:
    """``c(x)`` of one compact row (exceptions ``{x: δ}`` and a knee ``(K, B2, S2)``
    included), for an array of x."""
    x = np.asarray(x, dtype=np.int64)
    t = compact_thresholds(base, step, frac, tie, L)
    c = (x[..., None] >= t).sum(-1)
    if knee is not None:
        k, b2, s2 = knee
        c = np.where(x >= k, (x[..., None] >= compact_thresholds(b2, s2, frac, tie, L)).sum(-1),
                     c)
    if exceptions:
        c = c + np.vectorize(lambda v: exceptions.get(int(v), 0), otypes=[np.int64])(x)
    return c


@dataclass
class Compact:
    """The compact form of one requant op (arrays, as the backends use it)."""

    frac: int
    tie: int
    base: np.ndarray             # (sets, rows) int64
    step: np.ndarray             # (sets, rows) int64, >= 0
    exceptions: list             # [(set, row, x, delta)]
    knees: list = field(default_factory=list)    # [(set, row, K, base2, step2)]

    def to_attrs(self) -> dict:
        sets = []
        for s in range(self.base.shape[0]):
            sets.append({"base": [int(v) for v in self.base[s]],
                         "step": [int(v) for v in self.step[s]],
                         "exceptions": [[int(r), int(x), int(d)]
                                        for (k, r, x, d) in self.exceptions if k == s]})
            if self.knees:                           # absent where no row has a knee
                sets[-1]["knees"] = [[int(r), int(x), int(b), int(t)]
                                     for (k, r, x, b, t) in self.knees if k == s]
        return {"frac": int(self.frac), "tie": int(self.tie), "sets": sets}

    @classmethod
    def from_attrs(cls, a: dict) -> "Compact":
        base = np.asarray([s["base"] for s in a["sets"]], dtype=np.int64)
        step = np.asarray([s["step"] for s in a["sets"]], dtype=np.int64)
        exc = [(k, int(r), int(x), int(d)) for k, s in enumerate(a["sets"])
               for r, x, d in s.get("exceptions", [])]
        knees = [(k, int(r), int(x), int(b), int(t)) for k, s in enumerate(a["sets"])
                 for r, x, b, t in s.get("knees", [])]
        return cls(int(a["frac"]), int(a["tie"]), base, step, exc, knees)

    def exceptions_of(self, s: int, r: int) -> dict:
        return {x: d for (k, rr, x, d) in self.exceptions if k == s and rr == r}

    def knee_of(self, s: int, r: int) -> tuple | None:
        """``(K, B2, S2)`` of a row with a knee, else None."""
        return next(((x, b, t) for (k, rr, x, b, t) in self.knees if k == s and rr == r),
                    None)

    def knee_arrays(self, lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(K, B2, S2)`` of every row as hardware stores them, shape (sets, rows): a row
        without a knee gets ``K = lo`` (every input takes the second segment) and its own
        base and step as the second segment."""
        kx = np.full(self.base.shape, lo, dtype=np.int64)
        b2, s2 = self.base.copy(), self.step.copy()
        for (k, r, x, b, t) in self.knees:
            kx[k, r], b2[k, r], s2[k, r] = x, b, t
        return kx, b2, s2


def _bounds(T: np.ndarray, lo: int, hi: int, frac: int, tie: int):
    """Per row and j the integer interval [lower, upper] that ``B + j·S`` must lie in for
    the clipped ``T̂_j`` to equal the clipped ``T_j`` (±_INF: unbounded).  ``lo`` / ``hi``
    are scalars or per-row arrays (a knee's segments fit on parts of the range)."""
    if np.ndim(lo):
        lo = np.asarray(lo, dtype=np.int64)[:, None]
    if np.ndim(hi):
        hi = np.asarray(hi, dtype=np.int64)[:, None]
    one = 1 << frac
    c = tie_terms(tie, T.shape[-1])
    low = np.where(T <= lo, -_INF, np.where(T >= hi + 1, hi * one - c + 1, (T - 1) * one - c + 1))
    up = np.where(T <= lo, lo * one - c, np.where(T >= hi + 1, _INF, T * one - c))
    return low, up


def _gap(low: np.ndarray, up: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``g(S) = max_j(low_j − j·S) − min_j(up_j − j·S)`` per row: a base exists for step
    S iff g(S) ≤ 0.  g is convex in S (a max of lines minus a min of lines), so the
    feasible steps form an interval."""
    j = np.arange(low.shape[1], dtype=np.int64)
    sj = step[:, None] * j
    blo = np.where(low > -_INF, low - sj, -_INF).max(1)
    bhi = np.where(up < _INF, up - sj, _INF).min(1)
    return np.where((blo == -_INF) | (bhi == _INF), -1, blo - bhi)


def _smallest_step(low: np.ndarray, up: np.ndarray, tie: int, s_hi: int):
    """(feasible, S): per row whether some step in [tie ? 1 : 0, s_hi] admits a base, and
    the smallest such step.  Binary searches on the convex g: first its minimiser (the
    first S where g stops decreasing), then the left end of {g ≤ 0}."""
    n = low.shape[0]
    a = np.full(n, 1 if tie else 0, dtype=np.int64)
    b = np.full(n, s_hi, dtype=np.int64)
    while np.any(a < b):                            # first S with g(S + 1) >= g(S)
        m = (a + b) // 2
        up_ = _gap(low, up, m + 1) >= _gap(low, up, m)
        b = np.where(up_ & (a < b), m, b)
        a = np.where(~up_ & (a < b), m + 1, a)
    feasible = _gap(low, up, a) <= 0
    lo_ = np.full(n, 1 if tie else 0, dtype=np.int64)
    hi_ = a.copy()
    while np.any(lo_ < hi_):                        # first S in [lo, S*] with g(S) <= 0
        m = (lo_ + hi_) // 2
        ok = _gap(low, up, m) <= 0
        hi_ = np.where(ok & (lo_ < hi_), m, hi_)
        lo_ = np.where(~ok & (lo_ < hi_), m + 1, lo_)
    return feasible, lo_


def _fit_rows(T: np.ndarray, lo: int, hi: int, tie: int, max_frac: int = MAX_FRAC):
    """Per row the smallest F (or -1: none up to ``max_frac``) at which a compact row
    reproduces it exactly."""
    n = T.shape[0]
    frac = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    for f in range(max_frac + 1):
        if not todo.size:
            break
        low, up = _bounds(T[todo], lo, hi, f, tie)
        ok, _ = _smallest_step(low, up, tie, _step_bound(lo, hi, f))
        frac[todo[ok]] = f
        todo = todo[~ok]
    return frac


def _step_bound(lo: int, hi: int, frac: int) -> int:
    """A step above which nothing new fits: two finite bounds j < k limit S to
    (hi + 1 − (lo − 1))·2^F, and a step so large that only one threshold is in range
    is no better than this one."""
    return (hi - lo + 3) << frac


def _params(T: np.ndarray, lo, hi, frac: int, tie: int, bound: int | None = None):
    """(base, step) of rows that fit at ``frac`` on [lo, hi] (scalars or per-row arrays;
    ``bound``: the step bound of the whole range): the smallest step, the base nearest 0."""
    low, up = _bounds(T, lo, hi, frac, tie)
    ok, step = _smallest_step(low, up, tie, _step_bound(lo, hi, frac) if bound is None
                              else bound)
    assert np.all(ok)
    j = np.arange(T.shape[1], dtype=np.int64)
    sj = step[:, None] * j
    blo = np.where(low > -_INF, low - sj, -_INF).max(1)
    bhi = np.where(up < _INF, up - sj, _INF).min(1)
    base = np.minimum(np.maximum(0, blo), bhi)
    return base, step


def _points(T: np.ndarray, That: np.ndarray, lo: int, hi: int) -> dict:
    """``{x: δ}``: where the count of ``T`` differs from the count of ``T̂`` on [lo, hi]."""
    t = np.clip(T, lo, hi + 1)
    h = np.clip(That, lo, hi + 1)
    out: dict = {}
    for a, b in zip(t, h):
        if a == b:
            continue
        sign = 1 if a < b else -1                        # true count is higher on [a, b)
        for x in range(min(a, b), max(a, b)):
            out[x] = out.get(x, 0) + sign
    return {x: d for x, d in out.items() if d}


def _robust_fit(T: np.ndarray, lo: int, hi: int, frac: int, tie: int):
    """(base, step, points) of one row no compact row reproduces: the step and base that
    reproduce the most thresholds, the rest as exception points."""
    L = len(T)
    one = 1 << frac
    low, up = _bounds(T[None], lo, hi, frac, tie)
    low, up = low[0], up[0]
    inner = [j for j in range(L) if lo < T[j] <= hi] or list(range(L))
    cands = {1 if tie else 0}
    span = max(1, (L - 1) // 2)
    pairs = [(j, k) for j in inner for k in inner if k - j >= span] or \
        [(j, k) for j in inner for k in inner if k > j]
    for j, k in pairs[:: max(1, len(pairs) // 200)]:
        s = (int(T[k]) - int(T[j])) * one / (k - j)
        cands.update({int(np.floor(s)), int(np.ceil(s))})
    best = None
    for s in sorted(c for c in cands if c >= (1 if tie else 0)):
        j = np.arange(L)
        a, b = low - j * s, up - j * s                   # B within [a, b] fits threshold j
        ev = sorted([(int(v), 1) for v in a if v > -_INF] + [(int(v) + 1, -1) for v in b
                                                              if v < _INF])
        base0 = min(int(v) for v in a if v > -_INF) if np.any(a > -_INF) else \
            min(int(v) for v in b)
        cur = int(np.sum(a == -_INF))
        top, arg = cur, base0
        for v, kind in ev:                               # ends before starts at v
            cur += kind
            if cur > top:
                top, arg = cur, v
        that = compact_thresholds(arg, s, frac, tie, L)
        pts = _points(T, that, lo, hi)
        key = (len(pts), abs(arg), s)
        if best is None or key < best[0]:
            best = (key, arg, s, pts)
    return best[1], best[2], best[3]


def _fits(T: np.ndarray, lo, hi, frac: int, tie: int, bound: int) -> np.ndarray:
    """Per row whether one compact row reproduces it on [lo, hi] (per-row arrays)."""
    low, up = _bounds(T, lo, hi, frac, tie)
    return _smallest_step(low, up, tie, bound)[0]


def _knee_interval(T: np.ndarray, lo: int, hi: int, frac: int, tie: int):
    """``(k2, k1)`` per row: a knee ``K`` works at ``frac`` iff ``k2 ≤ K ≤ k1``.  ``k1`` is
    the largest ``K`` in [lo + 1, hi] such that one compact row reproduces the row on
    [lo, K − 1] (``lo``: none), ``k2`` the smallest such that one reproduces it on [K, hi]
    (``hi + 1``: none).  Both searches are binary: reproducing a row on a range implies
    reproducing it on every sub-range, so the first property shrinks and the second grows
    as K grows."""
    n = T.shape[0]
    bound = _step_bound(lo, hi, frac)
    a, b = np.full(n, lo, dtype=np.int64), np.full(n, hi, dtype=np.int64)
    while np.any(a < b):                             # the largest K with seg 1 on [lo, K-1]
        m = (a + b + 1) // 2
        ok = _fits(T, lo, m - 1, frac, tie, bound) | (a >= b)
        a, b = np.where(ok, m, a), np.where(ok, b, m - 1)
    k1 = a
    a, b = np.full(n, lo + 1, dtype=np.int64), np.full(n, hi + 1, dtype=np.int64)
    while np.any(a < b):                             # the smallest K with seg 2 on [K, hi]
        m = (a + b) // 2
        ok = _fits(T, np.minimum(m, hi), hi, frac, tie, bound) | (a >= b)
        a, b = np.where(ok, a, m + 1), np.where(ok, m, b)
    return a, k1


def _knee_rows(T: np.ndarray, lo: int, hi: int, tie: int, max_frac: int = MAX_FRAC):
    """Per row the smallest F (or -1) at which a knee row (two compact segments split at
    some ``K``) reproduces it."""
    n = T.shape[0]
    frac = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    if hi <= lo:
        return frac
    for f in range(max_frac + 1):
        if not todo.size:
            break
        k2, k1 = _knee_interval(T[todo], lo, hi, f, tie)
        ok = (k2 <= k1) & (k1 > lo)
        frac[todo[ok]] = f
        todo = todo[~ok]
    return frac


def _knee_params(T: np.ndarray, lo: int, hi: int, frac: int, tie: int):
    """``(ok, K, B1, S1, B2, S2)`` per row at ``frac``: the knee at the smallest ``K`` the
    second segment allows, each segment's smallest step and base nearest 0."""
    k2, k1 = _knee_interval(T, lo, hi, frac, tie)
    ok = (k2 <= k1) & (k1 > lo)
    z = np.zeros(T.shape[0], dtype=np.int64)
    if not np.any(ok):
        return ok, z, z, z, z, z
    kx = np.where(ok, k2, lo + 1)
    bound = _step_bound(lo, hi, frac)
    b1, s1, b2, s2 = z.copy(), z.copy(), z.copy(), z.copy()
    b1[ok], s1[ok] = _params(T[ok], lo, kx[ok] - 1, frac, tie, bound)
    b2[ok], s2[ok] = _params(T[ok], kx[ok], hi, frac, tie, bound)
    return ok, kx, b1, s1, b2, s2


def derive(op: Op, lo: int, hi: int) -> Compact:
    """The compact form of ``op`` on inputs in [lo, hi]: no tie mode if every row fits
    without, else the tie mode with the fewest rows that need exceptions (then the fewest
    fraction bits), one ``F`` for the op (the largest its rows need), per row the smallest
    step and the base nearest 0; a row no compact row reproduces gets a knee (two
    segments) if that reproduces it, else its best fit plus exception points."""
    T, _ = hw_form(op, lo, hi)
    ns, nr, L = T.shape
    flat = T.reshape(ns * nr, L)
    if L == 0:
        z = np.zeros((ns, nr), dtype=np.int64)
        return Compact(0, TIE_NONE, z, z.copy(), [])
    best = None
    for tie in (TIE_NONE, TIE_EVEN, TIE_ODD):
        fr = _fit_rows(flat, lo, hi, tie)
        kf = np.full(len(fr), -1, dtype=np.int64)
        if np.any(fr < 0):                             # rows with two slopes: a knee
            kf[fr < 0] = _knee_rows(flat[fr < 0], lo, hi, tie)
        bad = int(np.sum((fr < 0) & (kf < 0)))
        frac = int(max(fr.max(), kf.max(), 0))
        key = (bad, int(np.sum(kf >= 0)), frac)
        if best is None or key < best[0]:
            best = (key, tie, fr, kf, frac)
        if bad == 0 and not np.any(fr < 0):            # a tie mode only where ties are
            break
    _, tie, fr, kf, frac = best
    base = np.zeros(ns * nr, dtype=np.int64)
    step = np.zeros(ns * nr, dtype=np.int64)
    good = fr >= 0
    if np.any(good):
        base[good], step[good] = _params(flat[good], lo, hi, frac, tie)
    knees = []
    kneed = np.nonzero(~good & (kf >= 0))[0]
    if kneed.size:
        ok, kx, b1, s1, b2, s2 = _knee_params(flat[kneed], lo, hi, frac, tie)
        for n, i in enumerate(kneed):
            if ok[n]:
                base[i], step[i] = b1[n], s1[n]
                knees.append((int(i // nr), int(i % nr), int(kx[n]), int(b2[n]), int(s2[n])))
        kf[kneed[~ok]] = -1                            # not at the op's F: exceptions
    exc = []
    for i in np.nonzero(~good & (kf < 0))[0]:
        b, s, pts = _robust_fit(flat[i], lo, hi, frac, tie)
        base[i], step[i] = b, s
        exc += [(int(i // nr), int(i % nr), x, d) for x, d in sorted(pts.items())]
    if len(exc) > MAX_EXCEPTIONS:
        raise ValueError(f"{len(exc)} exception points: the thresholds are far from any "
                         "affine row or pair of affine rows (more than %d)" % MAX_EXCEPTIONS)
    return Compact(frac, tie, base.reshape(ns, nr), step.reshape(ns, nr), exc, sorted(knees))


def check_compact(op: Op, c: Compact, lo: int, hi: int) -> str | None:
    """The proof: ``None`` if ``c`` reproduces the requant on every input in [lo, hi],
    else the first reason it does not.  A row without exceptions or knee must give the
    same clipped thresholds (then the counts agree on [lo, hi]); a row with either is
    compared at every point of [lo, hi] where either count can change (so on all of it)."""
    T, _ = hw_form(op, lo, hi)
    ns, nr, L = T.shape
    if c.base.shape != (ns, nr) or c.step.shape != (ns, nr):
        return f"compact sets {list(c.base.shape)} / {list(c.step.shape)}, expected {[ns, nr]}"
    if c.tie not in (TIE_NONE, TIE_EVEN, TIE_ODD) or not 0 <= c.frac <= 62:
        return f"frac {c.frac} / tie {c.tie} out of range"
    smin = 1 if c.tie else 0
    if np.any(c.step < smin) or any(t < smin for (_, _, _, _, t) in c.knees):
        return "a step below " + ("1 (tie mode)" if c.tie else "0")
    bases = [int(c.base.min(initial=0)), int(c.base.max(initial=0))] + \
        [b for (_, _, _, b, _) in c.knees]
    steps = [int(c.step.max(initial=0))] + [t for (_, _, _, _, t) in c.knees]
    big = max(abs(b) for b in bases) + (L + 1) * max(steps) + 2
    if big >= 1 << 62:                               # the regeneration must not overflow
        return f"base / step too large ({big} >= 2^62)"
    if L == 0:
        return "exceptions or knees on a requant without thresholds" \
            if c.exceptions or c.knees else None
    that = np.clip(compact_thresholds(c.base, c.step, c.frac, c.tie, L), lo, hi + 1)
    irregular = {(k, r) for (k, r, _, _) in c.exceptions}
    for (k, r, x, d) in c.exceptions:
        if not (0 <= k < ns and 0 <= r < nr and lo <= x <= hi and d != 0):
            return f"exception {[k, r, x, d]} outside the sets, rows or input range"
    kneed = set()
    for (k, r, x, b, t) in c.knees:
        if not (0 <= k < ns and 0 <= r < nr and lo < x <= hi) or (k, r) in kneed:
            return f"knee {[k, r, x, b, t]} outside the sets, rows or input range, or twice"
        kneed.add((k, r))
    irregular |= kneed
    for k in range(ns):
        for r in range(nr):
            if (k, r) not in irregular:
                if not np.array_equal(that[k, r], T[k, r]):
                    j = int(np.nonzero(that[k, r] != T[k, r])[0][0])
                    return (f"set {k} row {r}: threshold {j} is {int(T[k, r, j])}, the "
                            f"compact row gives {int(that[k, r, j])}")
                continue
            # both counts are step functions of x that change only at a threshold (T or
            # either segment's T-hat), at the knee or around an exception point:
            # comparing them at lo and at every such point in [lo, hi] compares them on
            # the whole range
            exc = c.exceptions_of(k, r)
            knee = c.knee_of(k, r)
            extra = [] if knee is None else \
                [[knee[0]], compact_thresholds(knee[1], knee[2], c.frac, c.tie, L)]
            pts = np.concatenate([[lo], T[k, r], that[k, r], list(exc),
                                  [x + 1 for x in exc]] + extra).astype(np.int64)
            xs = np.unique(pts[(pts >= lo) & (pts <= hi)])
            want = (xs[:, None] >= T[k, r][None, :]).sum(1)
            got = count(xs, c.base[k, r], c.step[k, r], c.frac, c.tie, L, exc, knee)
            if not np.array_equal(got, want):
                x = int(xs[np.nonzero(got != want)[0][0]])
                return f"set {k} row {r}: at x = {x} the count differs"
    return None


def compact_of(op: Op, lo: int, hi: int) -> Compact:
    """The compact form the backends use: ``attrs["compact"]`` when the op carries one
    (proven again here on [lo, hi]: ValueError with the reason if it does not reproduce
    the thresholds), else derived now (IR documents written before the form existed)."""
    a = op.attrs.get("compact")
    if a is None:
        return derive(op, lo, hi)
    try:
        c = Compact.from_attrs(a)
    except (KeyError, TypeError, ValueError, OverflowError, IndexError) as e:
        raise ValueError(f"malformed compact form ({type(e).__name__}: {e})") from None
    reason = check_compact(op, c, lo, hi)
    if reason is not None:
        raise ValueError(f"the compact form does not reproduce the thresholds: {reason}")
    return c


# -- storage ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Widths:
    """Bits of a compact requant: per row ``base`` (signed) + ``step`` (unsigned) + the
    direction flag, and if some row of the op has a knee, per row also the knee input
    ``knee`` (signed) and a second base and step (a row without one repeats its own);
    per exception its row index (over all sets), input value and δ."""

    base: int
    step: int
    exc_row: int
    exc_x: int
    exc_delta: int
    knee: int = 0                # 0: no row of the op has a knee

    @property
    def row(self) -> int:
        return self.base + self.step + 1 + (self.knee + self.base + self.step if self.knee
                                            else 0)

    @property
    def exception(self) -> int:
        return self.exc_row + self.exc_x + self.exc_delta


def widths(c: Compact, lo: int, hi: int) -> Widths:
    kb = [b for (_, _, _, b, _) in c.knees]
    b = range_bits(min([int(c.base.min(initial=0)), -1] + kb),
                   max([int(c.base.max(initial=0))] + kb))
    s = max(1, max([int(c.step.max(initial=0))] + [t for (*_, t) in c.knees]).bit_length())
    d = max([abs(e[3]) for e in c.exceptions] + [1])
    xw = range_bits(min(lo, -1), hi)
    return Widths(b, s, max(1, (c.base.size - 1).bit_length()), xw, range_bits(-d, d),
                  xw if c.knees else 0)


def compact_bits(c: Compact, lo: int, hi: int) -> int:
    """On-chip bits of a compact requant: rows × (base + step + direction [+ knee, base2,
    step2]) + exceptions."""
    w = widths(c, lo, hi)
    return c.base.size * w.row + len(c.exceptions) * w.exception


def floor_bits(graph) -> int:
    """The storage floor of a network (issue 13.4, docs/arithmetic.md): its weight sources'
    bits (``hfn``: 1 mask bit per unique weight + the LFSR start states), shared stores
    once, and ``FLOOR_BITS_PER_CHANNEL_SET`` per requant channel × parameter set.  The
    report computes the same from its totals."""
    from ..weights import get_source                 # weights -> ir.model: no cycle here
    bits = sum(sum(get_source(l.source).storage_bits(l, graph).values())
               for l in graph.layers.values())
    bits += sum(n for src in sorted({l.source for l in graph.layers.values()})
                for n in get_source(src).shared_bits(graph).values())
    return bits + FLOOR_BITS_PER_CHANNEL_SET * sum(channel_sets(op) for op in graph.walk()
                                                    if op.kind == "requant")


def requant_bits(op: Op, lo: int, hi: int) -> int:
    """The bits a requant occupies on chip (the report's and the backends' one count)."""
    return compact_bits(compact_of(op, lo, hi), lo, hi)


# -- the hardware's algorithm (a model of rtl/hfn_requant.v, docs/rtl.md) -------------------

def unit_words(base, step, frac: int, tie: int, stages: int, frac_unit: int):
    """``(A, S_u)`` as a requant unit of ``stages`` bisection stages and ``frac_unit``
    fraction bits stores a row: ``S_u = S·2^e`` and ``A = B·2^e + (2^(N−1) − 1)·S_u +
    tie_odd − 1`` (e = frac_unit − frac; the +1 of a tie is not scaled: it stays exact)."""
    e = frac_unit - frac
    assert e >= 0 and stages >= 2
    b = np.asarray(base, dtype=np.int64) << e
    s = np.asarray(step, dtype=np.int64) << e
    return b + ((1 << (stages - 1)) - 1) * s + (1 if tie == TIE_ODD else 0) - 1, s


def unit_count(x, a, s, tie: int, L: int, stages: int, frac_unit: int) -> np.ndarray:
    """The count as the unit computes it (non-restoring bisection over 2^N − 1 thresholds,
    then min with L); numpy arrays broadcast.  Stage k ≥ 1 probes an odd index, stage 0
    an even one, whose tie term differs by ``κ = tie_even − tie_odd``."""
    x = np.asarray(x, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    e = np.asarray(a, dtype=np.int64) - (x << frac_unit)
    c = np.zeros(np.broadcast(e, s).shape, dtype=np.int64)
    for k in range(stages - 1, 0, -1):
        acc = e < 0
        c = c + (acc.astype(np.int64) << k)
        e = np.where(acc, e + (s << (k - 1)), e - (s << (k - 1)))
    kappa = {TIE_NONE: 0, TIE_EVEN: 1, TIE_ODD: -1}[tie]
    c = c + (e + kappa < 0)
    return np.minimum(c, L)
