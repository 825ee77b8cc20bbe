"""Requantisation in the IR: the schema of a ``requant`` op (kept here, in one place), the
hardware form of its thresholds, and the compact form both backends store
(docs/arithmetic.md, "Compact requantisation"; docs/ir.md).

A ``requant`` op's attrs::

    out_min: int
    sets:    [{thresholds: [[T]]·R, direction: [d]·R}]              one per fold iteration
    compact: {frac: F, tie: t,                                       derived, proven equal
              sets: [{base: [B]·R, step: [S]·R, exceptions: [[r, x, δ], ...]}]}

``sets`` is the specification (the golden model counts thresholds: ``y = out_min +
#{j : d·x ≥ T_j}``).  ``compact`` is what hardware stores instead of the L thresholds of
a row: hardware compares ``x`` itself with ascending thresholds ``T'`` (``T' = T`` where
``d = +1``; ``T'_j = 1 − T_{L−1−j}`` where ``d = −1``, the row then counts down), clipped
into ``[lo, hi + 1]`` of the input range (``hw_form``).  The compact row regenerates them::

    T̂_j = ceil((B + j·S + tie_j) / 2^F),   tie_j = 1 if (t = 1 and j even) or
                                                        (t = 2 and j odd), else 0

(``S ≥ 0``, ``S ≥ 1`` when ``t ≠ 0``, so ``T̂`` ascends for every ``j ≥ 0``).  The count
``c(x) = #{j < L : x ≥ T̂_j}`` plus the ``δ`` of an exception ``[r, x, δ]`` of that row at
that ``x`` equals ``#{j : x ≥ T'_j}`` for every ``x`` in ``[lo, hi]``: that is what
``CompactRequant`` proves when it derives the form, and what ``check_compact`` proves
again whenever a backend reads it.  ``tie`` reproduces round-half-to-even ties
(re-quantising by a power of two: the thresholds step 1, 3, 1, 3, …).

This module imports neither the golden model nor torch.
"""
from __future__ import annotations

from dataclasses import dataclass

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
          exceptions: dict | None = None) -> np.ndarray:
    """``c(x)`` of one compact row (exceptions ``{x: δ}`` included), for an array of x."""
    x = np.asarray(x, dtype=np.int64)
    t = compact_thresholds(base, step, frac, tie, L)
    c = (x[..., None] >= t).sum(-1)
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

    def to_attrs(self) -> dict:
        sets = []
        for s in range(self.base.shape[0]):
            sets.append({"base": [int(v) for v in self.base[s]],
                         "step": [int(v) for v in self.step[s]],
                         "exceptions": [[int(r), int(x), int(d)]
                                        for (k, r, x, d) in self.exceptions if k == s]})
        return {"frac": int(self.frac), "tie": int(self.tie), "sets": sets}

    @classmethod
    def from_attrs(cls, a: dict) -> "Compact":
        base = np.asarray([s["base"] for s in a["sets"]], dtype=np.int64)
        step = np.asarray([s["step"] for s in a["sets"]], dtype=np.int64)
        exc = [(k, int(r), int(x), int(d)) for k, s in enumerate(a["sets"])
               for r, x, d in s.get("exceptions", [])]
        return cls(int(a["frac"]), int(a["tie"]), base, step, exc)

    def exceptions_of(self, s: int, r: int) -> dict:
        return {x: d for (k, rr, x, d) in self.exceptions if k == s and rr == r}


def _bounds(T: np.ndarray, lo: int, hi: int, frac: int, tie: int):
    """Per row and j the integer interval [lower, upper] that ``B + j·S`` must lie in for
    the clipped ``T̂_j`` to equal the clipped ``T_j`` (±_INF: unbounded)."""
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


def _params(T: np.ndarray, lo: int, hi: int, frac: int, tie: int):
    """(base, step) of rows that fit at ``frac``: the smallest step, the base nearest 0."""
    low, up = _bounds(T, lo, hi, frac, tie)
    ok, step = _smallest_step(low, up, tie, _step_bound(lo, hi, frac))
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


def derive(op: Op, lo: int, hi: int) -> Compact:
    """The compact form of ``op`` on inputs in [lo, hi]: no tie mode if every row fits
    without, else the tie mode with the fewest exception rows (then the fewest fraction
    bits), one ``F`` for the op (the largest its
    rows need), per row the smallest step and the base nearest 0; rows no compact row
    reproduces get their best fit plus exception points."""
    T, _ = hw_form(op, lo, hi)
    ns, nr, L = T.shape
    flat = T.reshape(ns * nr, L)
    if L == 0:
        z = np.zeros((ns, nr), dtype=np.int64)
        return Compact(0, TIE_NONE, z, z.copy(), [])
    best = None
    for tie in (TIE_NONE, TIE_EVEN, TIE_ODD):
        fr = _fit_rows(flat, lo, hi, tie)
        bad = int(np.sum(fr < 0))
        frac = int(fr.max()) if np.any(fr >= 0) else 0
        key = (bad, frac)
        if best is None or key < best[0]:
            best = (key, tie, fr, frac)
        if bad == 0:                                   # a tie mode only where ties are
            break
    _, tie, fr, frac = best
    base = np.zeros(ns * nr, dtype=np.int64)
    step = np.zeros(ns * nr, dtype=np.int64)
    good = fr >= 0
    if np.any(good):
        base[good], step[good] = _params(flat[good], lo, hi, frac, tie)
    exc = []
    for i in np.nonzero(~good)[0]:
        b, s, pts = _robust_fit(flat[i], lo, hi, frac, tie)
        base[i], step[i] = b, s
        exc += [(int(i // nr), int(i % nr), x, d) for x, d in sorted(pts.items())]
    if len(exc) > MAX_EXCEPTIONS:
        raise ValueError(f"{len(exc)} exception points: the thresholds are far from any "
                         "affine row (more than %d)" % MAX_EXCEPTIONS)
    return Compact(frac, tie, base.reshape(ns, nr), step.reshape(ns, nr), exc)


def check_compact(op: Op, c: Compact, lo: int, hi: int) -> str | None:
    """The proof: ``None`` if ``c`` reproduces the requant on every input in [lo, hi],
    else the first reason it does not.  A row without exceptions must give the same
    clipped thresholds (then the counts agree on [lo, hi]); a row with exceptions is
    compared at every point of [lo, hi] where either count can change (so on all of it)."""
    T, _ = hw_form(op, lo, hi)
    ns, nr, L = T.shape
    if c.base.shape != (ns, nr) or c.step.shape != (ns, nr):
        return f"compact sets {list(c.base.shape)} / {list(c.step.shape)}, expected {[ns, nr]}"
    if c.tie not in (TIE_NONE, TIE_EVEN, TIE_ODD) or not 0 <= c.frac <= 62:
        return f"frac {c.frac} / tie {c.tie} out of range"
    if np.any(c.step < (1 if c.tie else 0)):
        return "a step below " + ("1 (tie mode)" if c.tie else "0")
    big = max(abs(int(c.base.min(initial=0))), int(c.base.max(initial=0))) + \
        (L + 1) * int(c.step.max(initial=0)) + 2
    if big >= 1 << 62:                               # the regeneration must not overflow
        return f"base / step too large ({big} >= 2^62)"
    if L == 0:
        return "exceptions on a requant without thresholds" if c.exceptions else None
    that = np.clip(compact_thresholds(c.base, c.step, c.frac, c.tie, L), lo, hi + 1)
    with_exc = {(k, r) for (k, r, _, _) in c.exceptions}
    for (k, r, x, d) in c.exceptions:
        if not (0 <= k < ns and 0 <= r < nr and lo <= x <= hi and d != 0):
            return f"exception {[k, r, x, d]} outside the sets, rows or input range"
    for k in range(ns):
        for r in range(nr):
            if (k, r) not in with_exc:
                if not np.array_equal(that[k, r], T[k, r]):
                    j = int(np.nonzero(that[k, r] != T[k, r])[0][0])
                    return (f"set {k} row {r}: threshold {j} is {int(T[k, r, j])}, the "
                            f"compact row gives {int(that[k, r, j])}")
                continue
            # both counts are step functions of x that change only at a threshold (T or
            # T-hat) or around an exception point: comparing them at lo and at every such
            # point in [lo, hi] compares them on the whole range
            exc = c.exceptions_of(k, r)
            pts = np.concatenate([[lo], T[k, r], that[k, r], list(exc),
                                  [x + 1 for x in exc]]).astype(np.int64)
            xs = np.unique(pts[(pts >= lo) & (pts <= hi)])
            want = (xs[:, None] >= T[k, r][None, :]).sum(1)
            got = count(xs, c.base[k, r], c.step[k, r], c.frac, c.tie, L, exc)
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
    direction flag; per exception its row index (over all sets), input value and δ."""

    base: int
    step: int
    exc_row: int
    exc_x: int
    exc_delta: int

    @property
    def row(self) -> int:
        return self.base + self.step + 1

    @property
    def exception(self) -> int:
        return self.exc_row + self.exc_x + self.exc_delta


def widths(c: Compact, lo: int, hi: int) -> Widths:
    b = range_bits(min(int(c.base.min(initial=0)), -1), int(c.base.max(initial=0)))
    s = max(1, int(c.step.max(initial=0)).bit_length())
    d = max([abs(e[3]) for e in c.exceptions] + [1])
    return Widths(b, s, max(1, (c.base.size - 1).bit_length()),
                  range_bits(min(lo, -1), hi), range_bits(-d, d))


def compact_bits(c: Compact, lo: int, hi: int) -> int:
    """On-chip bits of a compact requant: rows × (base + step + direction) + exceptions."""
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
