"""Tabu search on the critical path for the classic job shop (Zhang et al.'s N7 moves, or
Nowicki-Smutnicki's N5).

A schedule is kept as machine orders, with heads (earliest starts), tails (longest path from an
operation's end to the sink) and a topological order. A step takes one critical path, splits it
into blocks of operations consecutive on one machine and considers, per block, N7's moves:
an operation moved to the block's front or its end, or the block's first or last operation
moved into its interior (N5 keeps only the swaps of the first two and the last two). Moves
that cannot shorten the path are left out (in the first block, those that leave its last
operation last; in the last block, those that leave its first operation first). A swap on the
critical path always leaves an acyclic graph; a longer move is kept only when Balas and
Vazacopoulos's sufficient condition says so. Each move is scored by the longest path through
the moved operations from the old heads and tails of their neighbours, exact for a swap
(Taillard's estimate), so no move costs a full recomputation; the best move that is not tabu
(or beats the best schedule so far) is made. A move makes the orders it reversed tabu for a
random tenure. After a move the topological order is repaired locally (Pearce and Kelly) and
heads and tails are recomputed from the first moved operation on, and up to the last one's new
position. When the best makespan has not improved for a while, the search goes back to the
best schedule with a fresh tabu list.

Why N7: on la27-40, abz7-9 and yn1-2 (tune half), 6 s from a dispatch plan, one search, two
seeds, the mean gap was 2.5 % with N7 against 3.0 % with N5, though N7 makes 20-40 % fewer
steps in the same time (more moves to score). The search is pure Python over lists: on 200-500
operations a step costs about a millisecond, ten thousand steps or more in a 20 s budget.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.jssp_lns import Shop


class _Graph:
    """The disjunctive graph of one schedule: job and machine neighbours, heads and tails."""

    def __init__(self, shop: Shop, sequences: Sequence[Sequence[int]]) -> None:
        n = shop.size
        self.n = n
        self.p = list(shop.duration)
        self.jp = [-1] * n
        self.js = [-1] * n
        for ops in shop.jobs:
            for a, b in itertools.pairwise(ops):
                self.js[a] = b
                self.jp[b] = a
        self.mp = [-1] * n
        self.ms = [-1] * n
        self.set_sequences(sequences)
        self.r = [0] * n
        self.t = [0] * n
        self.order: list[int] = []
        self.pos = [0] * n
        self.last = [ops[-1] for ops in shop.jobs if ops]  # only these can end the schedule

    def set_sequences(self, sequences: Sequence[Sequence[int]]) -> None:
        self.mp = [-1] * self.n
        self.ms = [-1] * self.n
        for seq in sequences:
            for a, b in itertools.pairwise(seq):
                self.ms[a] = b
                self.mp[b] = a

    def sequences(self, num_machines: int, machine: Sequence[int]) -> list[list[int]]:
        per: list[list[int]] = [[] for _ in range(num_machines)]
        for o in range(self.n):
            if self.mp[o] < 0:
                seq = per[machine[o]]
                x = o
                while x >= 0:
                    seq.append(x)
                    x = self.ms[x]
        return per

    def heads(self) -> int:
        """Earliest starts in topological order; the makespan, or -1 on a cycle."""
        jp, mp, js, ms, p = self.jp, self.mp, self.js, self.ms, self.p
        indeg = [(a >= 0) + (b >= 0) for a, b in zip(jp, mp, strict=True)]
        r = [0] * self.n
        stack = [o for o in range(self.n) if indeg[o] == 0]
        order: list[int] = []
        pop, push, add = stack.pop, stack.append, order.append
        cmax = 0
        while stack:
            o = pop()
            add(o)
            e = r[o] + p[o]
            if e > cmax:
                cmax = e
            s = js[o]
            if s >= 0:
                if r[s] < e:
                    r[s] = e
                indeg[s] -= 1
                if indeg[s] == 0:
                    push(s)
            s = ms[o]
            if s >= 0:
                if r[s] < e:
                    r[s] = e
                indeg[s] -= 1
                if indeg[s] == 0:
                    push(s)
        if len(order) < self.n:
            return -1
        self.r, self.order = r, order
        pos = self.pos
        for i, o in enumerate(order):
            pos[o] = i
        return cmax

    def update(self, moved: Sequence[int]) -> int:
        """Heads and tails after the machine segment `moved` (listed in its old order) was
        reordered, recomputed only where they can change; the makespan, or -1 on a cycle
        (then nothing has changed but the machine order, which the caller undoes).

        Every move here puts the segment's last operation a before its first b or makes the
        two adjacent, so the one arc a -> b runs against the topological order; the order is
        repaired locally (Pearce and Kelly): between b and a, the ancestors of a go before the
        descendants of b. Operations before b keep their heads; only ancestors of the moved
        operations change tails, and all of them lie before the last one's new position."""
        order, pos = self.order, self.pos
        a, b = moved[-1], moved[0]
        low, high = pos[b], pos[a]
        forward = self._reach(b, high, self.js, self.ms, lambda q: q < high)
        if forward is None:
            return -1
        backward = self._reach(a, low, self.jp, self.mp, lambda q: q > low)
        assert backward is not None
        shifted = sorted(backward, key=pos.__getitem__) + sorted(forward, key=pos.__getitem__)
        slots = sorted(pos[o] for o in shifted)
        for i, o in zip(slots, shifted, strict=True):
            order[i] = o
            pos[o] = i
        self._heads_from(low)
        self._tails_until(max(pos[o] for o in moved))
        return max(self.r[o] + self.p[o] for o in self.last)

    def _reach(
        self,
        root: int,
        stop: int,
        first: list[int],
        second: list[int],
        inside: Callable[[int], bool],
    ) -> list[int] | None:
        """`root` and the operations reachable from it along `first`/`second` links whose
        topological position is `inside`; None when the walk reaches position `stop` (a
        cycle)."""
        pos = self.pos
        seen = {root}
        stack = [root]
        while stack:
            o = stack.pop()
            for w in (first[o], second[o]):
                if w < 0 or w in seen:
                    continue
                q = pos[w]
                if q == stop:
                    return None
                if inside(q):
                    seen.add(w)
                    stack.append(w)
        return list(seen)

    def _heads_from(self, start: int) -> None:
        """Heads of the operations from topological position `start` on."""
        jp, mp, p, r, order = self.jp, self.mp, self.p, self.r, self.order
        for i in range(start, self.n):
            o = order[i]
            head = 0
            x = jp[o]
            if x >= 0:
                head = r[x] + p[x]
            x = mp[o]
            if x >= 0 and r[x] + p[x] > head:
                head = r[x] + p[x]
            r[o] = head

    def _tails_until(self, end: int) -> None:
        """Tails of the operations up to topological position `end`, from there back."""
        js, ms, p, t, order = self.js, self.ms, self.p, self.t, self.order
        for i in range(end, -1, -1):
            o = order[i]
            best = 0
            s = js[o]
            if s >= 0:
                best = p[s] + t[s]
            s = ms[o]
            if s >= 0 and p[s] + t[s] > best:
                best = p[s] + t[s]
            t[o] = best

    def tails(self) -> None:
        """Longest path from each operation's end to the sink (after `heads`)."""
        js, ms, p = self.js, self.ms, self.p
        t = [0] * self.n
        for o in reversed(self.order):
            best = 0
            s = js[o]
            if s >= 0:
                best = p[s] + t[s]
            s = ms[o]
            if s >= 0 and p[s] + t[s] > best:
                best = p[s] + t[s]
            t[o] = best
        self.t = t

    def critical_blocks(self, cmax: int, rng: random.Random) -> list[list[int]]:
        """One critical path (ties broken at random), as blocks of machine-consecutive ops."""
        r, p, jp, mp = self.r, self.p, self.jp, self.mp
        ends = [o for o in self.last if r[o] + p[o] == cmax]
        o = rng.choice(ends)
        path = [o]
        via_machine = []
        while r[o] > 0:
            a, b = mp[o], jp[o]
            tight_m = a >= 0 and r[a] + p[a] == r[o]
            tight_j = b >= 0 and r[b] + p[b] == r[o]
            if tight_m and (not tight_j or rng.random() < 0.5):
                o = a
                via_machine.append(True)
            else:
                o = b
                via_machine.append(False)
            path.append(o)
        path.reverse()
        via_machine.reverse()
        blocks = [[path[0]]]
        for o, machine_arc in zip(path[1:], via_machine, strict=True):
            if machine_arc:
                blocks[-1].append(o)
            else:
                blocks.append([o])
        return blocks

    def swap(self, u: int, v: int) -> None:
        """Swap u and its machine successor v."""
        self.reorder((u, v), (v, u))

    def reorder(self, old: Sequence[int], new: Sequence[int]) -> None:
        """Put the machine segment `old` (consecutive on one machine) in the order `new`."""
        mp, ms = self.mp, self.ms
        a, b = mp[old[0]], ms[old[-1]]
        for o in new:
            mp[o] = a
            if a >= 0:
                ms[a] = o
            a = o
        ms[a] = b
        if b >= 0:
            mp[b] = a

    def estimate(self, u: int, v: int) -> int:
        """Taillard's estimate of the makespan after swapping u and its machine successor v."""
        return self.estimate_move((u, v), (v, u))

    def estimate_move(self, old: Sequence[int], new: Sequence[int]) -> int:
        """The longest path through the segment `old` put in the order `new`, from the old
        heads of the job predecessors and tails of the job successors (Balas and
        Vazacopoulos's estimate). For a swap of two critical operations it is Taillard's,
        the exact length of the longest path through them; for longer moves the job
        neighbours' heads and tails may change too, and then it is only an estimate."""
        r, t, p, jp, js = self.r, self.t, self.p, self.jp, self.js
        a, b = self.mp[old[0]], self.ms[old[-1]]
        head = r[a] + p[a] if a >= 0 else 0
        heads = []
        for o in new:
            x = jp[o]
            if x >= 0 and r[x] + p[x] > head:
                head = r[x] + p[x]
            heads.append(head)
            head += p[o]
        after = p[b] + t[b] if b >= 0 else 0  # tail of the operation being visited
        longest = 0
        for k in range(len(new) - 1, -1, -1):
            o = new[k]
            x = js[o]
            if x >= 0 and p[x] + t[x] > after:
                after = p[x] + t[x]
            if heads[k] + p[o] + after > longest:
                longest = heads[k] + p[o] + after
            after += p[o]
        return longest

    def estimate_floor(self, old: Sequence[int], new: Sequence[int]) -> int:
        """A lower bound on `estimate_move` in constant time, for a segment of a critical
        block (its operations back to back, so their lengths sum to a difference of heads):
        the path through the moved operation alone. Moves it rules out are not scored."""
        r, t, p = self.r, self.t, self.p
        x = new[0]
        if x == old[-1]:  # backward: x before old[0], then old[0..-2] back to back
            w = self.mp[old[0]]
            head = r[w] + p[w] if w >= 0 else 0
            w = self.jp[x]
            if w >= 0 and r[w] + p[w] > head:
                head = r[w] + p[w]
            w = self.ms[x]
            tail = r[x] - r[old[0]] + (p[w] + t[w] if w >= 0 else 0)
            w = self.js[x]
            if w >= 0 and p[w] + t[w] > tail:
                tail = p[w] + t[w]
            return head + p[x] + tail
        x = old[0]  # forward: old[1..] back to back, then x
        w = self.mp[x]
        head = (r[w] + p[w] if w >= 0 else 0) + r[old[-1]] + p[old[-1]] - r[old[1]]
        w = self.jp[x]
        if w >= 0 and r[w] + p[w] > head:
            head = r[w] + p[w]
        w = self.ms[old[-1]]
        tail = p[w] + t[w] if w >= 0 else 0
        w = self.js[x]
        if w >= 0 and p[w] + t[w] > tail:
            tail = p[w] + t[w]
        return head + p[x] + tail

    def acyclic(self, old: Sequence[int], new: Sequence[int]) -> bool:
        """Whether an N7 insertion leaves the graph acyclic (sufficient, Balas-Vazacopoulos):
        moving x before y is safe when x's job predecessor is no descendant of y (it ends
        before y does), moving x after y when x's job successor is no ancestor of y."""
        x = old[-1]
        if new[0] == x:  # backward: x to the front of the segment
            w = self.jp[x]
            y = old[0]
            return w < 0 or (w not in old and self.r[w] < self.r[y] + self.p[y])
        x, y = old[0], old[-1]
        w = self.js[x]
        return w < 0 or (w not in old and self.t[w] < self.p[y] + self.t[y])


def _moves(blocks: list[list[int]]) -> list[tuple[int, int]]:
    """N5: the first and the last pair of each block, but not at the path's two ends."""
    moves: list[tuple[int, int]] = []
    last = len(blocks) - 1
    for k, block in enumerate(blocks):
        if len(block) < 2:
            continue
        if k > 0:
            moves.append((block[0], block[1]))
        if k < last and (k == 0 or len(block) > 2):
            moves.append((block[-2], block[-1]))
    if not moves and len(blocks) == 1 and len(blocks[0]) >= 2:  # one block: both its ends
        block = blocks[0]
        moves = [(block[0], block[1]), (block[-2], block[-1])]
    return moves


Move = tuple[tuple[int, ...], tuple[int, ...]]  # a machine segment and its new order


def _n7_moves(blocks: list[list[int]]) -> list[Move]:
    """N7 (Zhang et al.): per block, each operation moved to the block's front or its end,
    and the block's first or last operation moved into its interior (adjacent swaps, N5's
    moves, among them). In the first block, which starts at time 0, a move that leaves the
    block's last operation last cannot shorten the path; nor, in the last block, one that
    leaves the first operation first."""
    moves: list[Move] = []
    last = len(blocks) - 1
    for k, block in enumerate(blocks):
        n = len(block)
        if n < 2:
            continue
        # segments that start at the block's first operation or end at its last: moving
        # the segment's last operation to its front, or its first to its end, is an N7 move
        # (an adjacent pair has one move, its swap)
        first_only = last > 0 and k == last  # the last block: moves must change its first
        last_only = last > 0 and k == 0  # the first block: moves must change its last
        if not last_only:
            for j in range(1, n - 1):
                seg = tuple(block[: j + 1])
                moves.append((seg, (seg[-1], *seg[:-1])))
                if j > 1:
                    moves.append((seg, (*seg[1:], seg[0])))
        for i in range(1 if first_only else n - 1):
            seg = tuple(block[i:])
            moves.append((seg, (seg[-1], *seg[:-1])))
            if i < n - 2:
                moves.append((seg, (*seg[1:], seg[0])))
    return moves


def _reversed_pairs(move: Move) -> list[tuple[int, int]]:
    """The machine orders (a, b) "a before b" a move reverses: its moved operation against
    each one it jumps over."""
    old, new = move
    if new[0] == old[-1]:  # backward: old[-1] to the front
        return [(o, old[-1]) for o in old[:-1]]
    return [(old[0], o) for o in old[1:]]


def _tabu_until(tabu: dict[int, int], n: int, move: Move) -> int:
    """Until which step `move` is tabu: it restores an order (b before a) reversed lately."""
    return max(tabu.get(b * n + a, 0) for a, b in _reversed_pairs(move))


def tabu_search(
    shop: Shop,
    starts: Sequence[int],
    deadline: float | None = None,
    max_iterations: int | None = None,
    seed: int = 0,
    lower_bound: int | None = None,
    stall: int | None = None,
    tenure: tuple[int, int] | None = None,
    neighbourhood: str = "n7",
) -> tuple[list[int], int]:
    """Best schedule found from `starts` (a schedule) until `deadline` (time.perf_counter())
    or `max_iterations` steps; never longer than the start. Returns (starts, steps made).

    A move is tabu when it would restore an order (a before b) that a recent move reversed;
    a tabu move is still made when its estimate beats the best makespan so far."""
    if deadline is None and max_iterations is None:
        raise ValueError("give a deadline or a number of iterations")
    if neighbourhood not in ("n5", "n7"):
        raise ValueError(f"unknown neighbourhood {neighbourhood!r}; expected n5 or n7")
    rng = random.Random(seed)
    n = shop.size
    graph = _Graph(shop, shop.sequences(starts))
    cmax = graph.heads()
    if cmax < 0:
        raise ValueError("the start is not a schedule")
    graph.tails()
    best_seq = graph.sequences(shop.num_machines, shop.machine)
    best_cmax = cmax
    best_starts = list(graph.r)
    floor = max(lower_bound or 0, shop.lower_bound())
    per_job = max(1, n // max(1, shop.num_machines))
    # half of the N5 search's tenure (2 + per_job // 4 + machines // 3): an N7 move makes
    # every pair it reverses tabu, so the list forbids more per step (la27-40, abz7-9, yn1-2,
    # 6 s from a dispatch plan: mean gap 2.9 % at the full tenure, 2.3-2.5 % at 0.4-0.6 of it)
    tenure_low = max(2, (2 + per_job // 4 + shop.num_machines // 3) // 2)
    tenure_high = tenure_low + max(2, tenure_low // 2)
    if tenure is not None:
        tenure_low, tenure_high = tenure
    stall = stall or max(1000, 8 * n)
    tabu: dict[int, int] = {}
    since_best = 0
    it = 0
    check = 0
    while best_cmax > floor:
        if max_iterations is not None and it >= max_iterations:
            break
        check += 1
        if deadline is not None and check >= 32:
            check = 0
            if time.perf_counter() >= deadline:
                break
        it += 1
        blocks = graph.critical_blocks(cmax, rng)
        if neighbourhood == "n7":
            moves = [m for m in _n7_moves(blocks) if len(m[0]) == 2 or graph.acyclic(*m)]
        else:
            moves = [((u, v), (v, u)) for u, v in _moves(blocks)]
        if not moves:
            break  # the critical path is one job, or blocks of one: the makespan is optimal
        chosen = None
        chosen_value = 0
        ties = 0
        for move in moves:
            if chosen is not None and graph.estimate_floor(*move) > chosen_value:
                continue
            value = graph.estimate_move(*move)
            if chosen is not None and value > chosen_value:
                continue
            if value >= best_cmax and _tabu_until(tabu, n, move) > it:
                continue
            if chosen is None or value < chosen_value:
                chosen, chosen_value, ties = move, value, 1
            else:
                ties += 1
                if rng.random() * ties < 1:
                    chosen = move
        if chosen is None:  # all tabu: the one whose tabu ends first
            chosen = min(moves, key=lambda move: _tabu_until(tabu, n, move))
        old, new = chosen
        graph.reorder(old, new)
        until = it + rng.randint(tenure_low, tenure_high)
        for a, b in _reversed_pairs(chosen):
            tabu[a * n + b] = until
        cmax = graph.update(old)
        if cmax < 0:  # cannot happen for these moves; undo, the move stays tabu all the same
            graph.reorder(new, old)
            cmax = graph.heads()
            graph.tails()
            continue
        if cmax < best_cmax:
            best_cmax, best_starts = cmax, list(graph.r)
            best_seq = graph.sequences(shop.num_machines, shop.machine)
            since_best = 0
        else:
            since_best += 1
            if since_best >= stall:
                graph.set_sequences(best_seq)
                cmax = graph.heads()
                graph.tails()
                tabu.clear()
                since_best = 0
    return best_starts, it


def _run(args: tuple[Shop, list[int], float, int, int | None, str]) -> tuple[list[int], int]:
    shop, starts, seconds, seed, lower_bound, neighbourhood = args
    return tabu_search(
        shop,
        starts,
        time.perf_counter() + seconds,
        seed=seed,
        lower_bound=lower_bound,
        neighbourhood=neighbourhood,
    )


def parallel_tabu(
    shop: Shop,
    starts: Sequence[int],
    seconds: float,
    workers: int = 1,
    seed: int = 0,
    lower_bound: int | None = None,
    neighbourhoods: Sequence[str] = ("n7",),
) -> list[int]:
    """The best of `workers` tabu searches from `starts` with different seeds, run side by side
    (one in this process, the others in forked processes) for `seconds`; search k uses
    `neighbourhoods[k % len(neighbourhoods)]`."""
    jobs = [
        (
            shop,
            list(starts),
            seconds,
            seed + k,
            lower_bound,
            neighbourhoods[k % len(neighbourhoods)],
        )
        for k in range(max(1, workers))
    ]
    if len(jobs) == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return _run(jobs[0])[0]
    context = multiprocessing.get_context("fork")
    with context.Pool(len(jobs) - 1) as pool:
        others = pool.map_async(_run, jobs[1:])
        results = [_run(jobs[0])]
        results += others.get(timeout=seconds + 30.0)
    return min((found for found, _ in results), key=shop.makespan)
