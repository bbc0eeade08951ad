"""Tabu search on the critical path for the classic job shop (Nowicki-Smutnicki's N5 moves).

A schedule is kept as machine orders; heads (earliest starts) and tails (longest path from an
operation's end to the sink) are recomputed per step in one topological pass each. A step
takes one critical path, splits it into blocks of operations consecutive on one machine, and
considers swapping the first two and the last two operations of each block (not the first pair
of the first block nor the last pair of the last block: those swaps cannot shorten the path).
Such a swap always leaves an acyclic graph. Each move is scored by Taillard's estimate from the
heads and tails around the swapped pair, which is exact or a lower bound, so no move costs a
full recomputation; the best move that is not tabu (or beats the best schedule so far) is made.
After a swap u, v the order "u before v" is tabu for a random tenure. When the best makespan
has not improved for a while, the search goes back to the best schedule with a fresh tabu list.

The search is pure Python over lists: on 500 operations a step costs well under a millisecond
or two, tens of thousands of steps in a 20 s budget, which is what the swv family needs.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import time
from collections.abc import Sequence
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

    def update(self, u: int, v: int) -> int:
        """Heads and tails after `swap(u, v)`, recomputed only where they can change; the
        makespan, or -1 on a cycle (then `heads` must be rerun after undoing the swap).

        Operations before u in the old topological order keep their heads and stay a valid
        prefix (none has u, v or their new neighbours as an ancestor), so only the rest is
        reordered; only ancestors of u or v change tails, and all of them lie before u's new
        position."""
        jp, mp, js, ms, p, r, t = self.jp, self.mp, self.js, self.ms, self.p, self.r, self.t
        order, pos = self.order, self.pos
        start = pos[u]
        suffix = order[start:]
        indeg: dict[int, int] = {}
        stack: list[int] = []
        for o in suffix:
            d = 0
            head = 0
            x = jp[o]
            if x >= 0:
                if pos[x] >= start:
                    d += 1
                else:
                    head = r[x] + p[x]
            x = mp[o]
            if x >= 0:
                if pos[x] >= start:
                    d += 1
                elif r[x] + p[x] > head:
                    head = r[x] + p[x]
            r[o] = head
            if d:
                indeg[o] = d
            else:
                stack.append(o)
        fresh: list[int] = []
        pop, push, add = stack.pop, stack.append, fresh.append
        while stack:
            o = pop()
            add(o)
            e = r[o] + p[o]
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
        if len(fresh) < len(suffix):
            return -1
        order[start:] = fresh
        for i in range(start, self.n):
            pos[order[i]] = i
        for i in range(pos[u], -1, -1):
            o = order[i]
            best = 0
            s = js[o]
            if s >= 0:
                best = p[s] + t[s]
            s = ms[o]
            if s >= 0 and p[s] + t[s] > best:
                best = p[s] + t[s]
            t[o] = best
        return max(r[o] + p[o] for o in self.last)

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
        mp, ms = self.mp, self.ms
        a, b = mp[u], ms[v]
        if a >= 0:
            ms[a] = v
        mp[v] = a
        ms[v] = u
        mp[u] = v
        ms[u] = b
        if b >= 0:
            mp[b] = u

    def estimate(self, u: int, v: int) -> int:
        """Taillard's estimate of the makespan after swapping u and its machine successor v."""
        r, t, p, jp, js, mp, ms = self.r, self.t, self.p, self.jp, self.js, self.mp, self.ms
        a, b = mp[u], ms[v]
        x = jp[v]
        rv = r[x] + p[x] if x >= 0 else 0
        if a >= 0 and r[a] + p[a] > rv:
            rv = r[a] + p[a]
        x = jp[u]
        ru = r[x] + p[x] if x >= 0 else 0
        if rv + p[v] > ru:
            ru = rv + p[v]
        x = js[u]
        tu = p[x] + t[x] if x >= 0 else 0
        if b >= 0 and p[b] + t[b] > tu:
            tu = p[b] + t[b]
        x = js[v]
        tv = p[x] + t[x] if x >= 0 else 0
        if p[u] + tu > tv:
            tv = p[u] + tu
        return max(rv + p[v] + tv, ru + p[u] + tu)


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


def tabu_search(
    shop: Shop,
    starts: Sequence[int],
    deadline: float | None = None,
    max_iterations: int | None = None,
    seed: int = 0,
    lower_bound: int | None = None,
    stall: int | None = None,
    tenure: tuple[int, int] | None = None,
) -> tuple[list[int], int]:
    """Best schedule found from `starts` (a schedule) until `deadline` (time.perf_counter())
    or `max_iterations` steps; never longer than the start. Returns (starts, steps made)."""
    if deadline is None and max_iterations is None:
        raise ValueError("give a deadline or a number of iterations")
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
    tenure_low = 2 + per_job // 4 + shop.num_machines // 3
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
        moves = _moves(graph.critical_blocks(cmax, rng))
        if not moves:
            break  # the critical path is one job, or blocks of one: the makespan is optimal
        chosen = None
        chosen_value = 0
        ties = 0
        fallback = None
        fallback_until = 0
        for u, v in moves:
            value = graph.estimate(u, v)
            until = tabu.get(v * n + u, 0)  # "v before u" was forbidden
            if until > it and value >= best_cmax:
                if fallback is None or until < fallback_until:
                    fallback, fallback_until = (u, v), until
                continue
            if chosen is None or value < chosen_value:
                chosen, chosen_value, ties = (u, v), value, 1
            elif value == chosen_value:
                ties += 1
                if rng.random() * ties < 1:
                    chosen = (u, v)
        if chosen is None:
            chosen = fallback
        assert chosen is not None
        u, v = chosen
        graph.swap(u, v)
        tabu[u * n + v] = it + rng.randint(tenure_low, tenure_high)
        cmax = graph.update(u, v)
        if cmax < 0:  # cannot happen for N5 moves; undo and keep the move tabu all the same
            graph.swap(v, u)
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


def _run(args: tuple[Shop, list[int], float, int, int | None]) -> tuple[list[int], int]:
    shop, starts, seconds, seed, lower_bound = args
    return tabu_search(
        shop, starts, time.perf_counter() + seconds, seed=seed, lower_bound=lower_bound
    )


def parallel_tabu(
    shop: Shop,
    starts: Sequence[int],
    seconds: float,
    workers: int = 1,
    seed: int = 0,
    lower_bound: int | None = None,
) -> list[int]:
    """The best of `workers` tabu searches from `starts` with different seeds, run side by side
    (one in this process, the others in forked processes) for `seconds`."""
    jobs = [(shop, list(starts), seconds, seed + k, lower_bound) for k in range(max(1, workers))]
    if len(jobs) == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return _run(jobs[0])[0]
    context = multiprocessing.get_context("fork")
    with context.Pool(len(jobs) - 1) as pool:
        others = pool.map_async(_run, jobs[1:])
        results = [_run(jobs[0])]
        results += others.get(timeout=seconds + 30.0)
    return min((found for found, _ in results), key=shop.makespan)
