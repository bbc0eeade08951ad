"""Tabu search on the critical path: exact heads, tails and blocks on a hand-built shop, an exact
swap estimate, N7 moves that keep the graph acyclic, whose estimate is exact when the job
neighbours keep their heads and tails and never below its constant-time floor, and never a
worse or broken schedule than its start (iteration budgets only)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.jssp_instances import parse_jssp
from bench.jssp_lns import Shop
from bench.jssp_tabu import _Graph, _moves, _n7_moves, parallel_tabu, tabu_search
from scheduler.cpsat.hints import best_dispatch

# Operations: 0 = j0 on m0 (3), 1 = j0 on m1 (1), 2 = j1 on m0 (2), 3 = j1 on m1 (5).
TINY = "2 2\n0 3 1 1\n0 2 1 5\n"


def _dispatch_starts(shop: Shop, text: str) -> list[int]:
    placements, _ = best_dispatch(parse_jssp(text).to_problem(), 0.0)
    starts = [0] * shop.size
    for (job, seq), (_, start) in placements.items():
        starts[shop.jobs[int(job[1:])][seq]] = start
    return starts


def test_heads_tails_and_the_critical_path_on_a_hand_built_shop() -> None:
    shop = Shop.of(parse_jssp(TINY))
    graph = _Graph(shop, [[0, 2], [1, 3]])
    assert graph.heads() == 10
    assert graph.r == [0, 3, 3, 5]
    graph.tails()
    assert graph.t == [7, 5, 5, 0]
    # the only critical path is 0 -> 2 (machine m0) -> 3 (job j1)
    assert graph.critical_blocks(10, random.Random(0)) == [[0, 2], [3]]
    assert _moves([[0, 2], [3]]) == [(0, 2)]
    assert graph.estimate(0, 2) == 11
    graph.swap(0, 2)
    assert graph.heads() == 11
    assert graph.sequences(2, shop.machine) == [[2, 0], [1, 3]]


def test_a_cycle_is_reported() -> None:
    # j0: 0 (m0) -> 1 (m1); j1: 2 (m1) -> 3 (m0); m0: 3 before 0, m1: 1 before 2: 0->1->2->3->0
    looped = Shop.of(parse_jssp("2 2\n0 1 1 1\n1 1 0 1\n"))
    assert _Graph(looped, [[3, 0], [1, 2]]).heads() == -1
    assert _Graph(looped, [[0, 3], [2, 1]]).heads() == 2


def test_the_estimate_is_the_exact_longest_path_through_the_swapped_pair(
    jssp_dir: Path,
) -> None:
    text = (jssp_dir / "abz7.txt").read_text()
    shop = Shop.of(parse_jssp(text))
    graph = _Graph(shop, shop.sequences(_dispatch_starts(shop, text)))
    rng = random.Random(5)
    cmax = graph.heads()
    graph.tails()
    for _ in range(200):
        moves = _moves(graph.critical_blocks(cmax, rng))
        assert moves
        u, v = rng.choice(moves)
        estimate = graph.estimate(u, v)
        graph.swap(u, v)
        cmax = graph.update((u, v))
        assert cmax > 0  # an N5 swap never makes a cycle
        through = max(graph.r[o] + graph.p[o] + graph.t[o] for o in (u, v))
        assert estimate == through <= cmax
        fresh = _Graph(shop, graph.sequences(shop.num_machines, shop.machine))
        assert fresh.heads() == cmax
        fresh.tails()
        assert (fresh.r, fresh.t) == (graph.r, graph.t)  # the incremental update is exact


def test_n7_moves_of_a_hand_built_path() -> None:
    # first block: only moves that change its last operation; a middle block: every N7 move;
    # the last block: only moves that change its first operation
    moves = _n7_moves([[1, 2, 3, 4], [5], [6, 7, 8], [9, 10, 11]])
    assert moves == [
        ((1, 2, 3, 4), (4, 1, 2, 3)),
        ((1, 2, 3, 4), (2, 3, 4, 1)),
        ((2, 3, 4), (4, 2, 3)),
        ((2, 3, 4), (3, 4, 2)),
        ((3, 4), (4, 3)),
        ((6, 7), (7, 6)),
        ((6, 7, 8), (8, 6, 7)),
        ((6, 7, 8), (7, 8, 6)),
        ((7, 8), (8, 7)),
        ((9, 10), (10, 9)),
        ((9, 10, 11), (11, 9, 10)),
        ((9, 10, 11), (10, 11, 9)),
    ]
    swaps = {(old, new) for old, new in moves if len(old) == 2}
    n5 = _moves([[1, 2, 3, 4], [5], [6, 7, 8], [9, 10, 11]])
    assert {((u, v), (v, u)) for u, v in n5} <= swaps  # N5 is part of N7
    assert _n7_moves([[1, 2]]) == [((1, 2), (2, 1))]


def test_n7_moves_stay_acyclic_and_their_estimate_is_exact_when_job_neighbours_keep_theirs(
    jssp_dir: Path,
) -> None:
    text = (jssp_dir / "abz7.txt").read_text()
    shop = Shop.of(parse_jssp(text))
    graph = _Graph(shop, shop.sequences(_dispatch_starts(shop, text)))
    rng = random.Random(7)
    cmax = graph.heads()
    graph.tails()
    exact_insertions = 0
    for _ in range(300):
        moves = [
            m
            for m in _n7_moves(graph.critical_blocks(cmax, rng))
            if len(m[0]) == 2 or graph.acyclic(*m)
        ]
        assert moves
        assert all(graph.estimate_floor(*m) <= graph.estimate_move(*m) for m in moves)
        old, new = rng.choice(moves)
        estimate = graph.estimate_move(old, new)
        r, t = list(graph.r), list(graph.t)
        graph.reorder(old, new)
        cmax = graph.update(old)
        assert cmax > 0  # a swap on the critical path, or an insertion that passed `acyclic`
        fresh = _Graph(shop, graph.sequences(shop.num_machines, shop.machine))
        assert fresh.heads() == cmax
        fresh.tails()
        assert (fresh.r, fresh.t) == (graph.r, graph.t)  # the incremental update is exact
        through = max(graph.r[o] + graph.p[o] + graph.t[o] for o in new)
        before = [graph.jp[o] for o in new] + [graph.mp[new[0]]]
        after = [graph.js[o] for o in new] + [graph.ms[new[-1]]]
        if len(old) == 2:
            assert estimate == through <= cmax  # Taillard's estimate of a swap is exact
        elif all(r[o] == graph.r[o] for o in before if o >= 0) and all(
            t[o] == graph.t[o] for o in after if o >= 0
        ):
            assert estimate == through <= cmax
            exact_insertions += 1
    assert exact_insertions > 10


@pytest.mark.parametrize("neighbourhood", ["n5", "n7"])
def test_tabu_search_never_returns_a_worse_or_broken_schedule(
    jssp_dir: Path, neighbourhood: str
) -> None:
    for name in ("ft10", "la29"):
        text = (jssp_dir / f"{name}.txt").read_text()
        shop = Shop.of(parse_jssp(text, name))
        start = _dispatch_starts(shop, text)
        assert shop.violations(start) == []
        found, steps = tabu_search(
            shop, start, max_iterations=2000, seed=1, neighbourhood=neighbourhood
        )
        assert steps == 2000
        assert shop.violations(found) == []
        assert shop.makespan(found) < shop.makespan(start)


def test_tabu_search_finds_the_optima_of_small_shops(jssp_dir: Path) -> None:
    shop = Shop.of(parse_jssp(TINY))
    found, _ = tabu_search(shop, [0, 3, 3, 5], max_iterations=100)
    assert shop.makespan(found) == 8 and shop.violations(found) == []
    text = (jssp_dir / "ft06.txt").read_text()
    shop = Shop.of(parse_jssp(text, "ft06"))
    found, _ = tabu_search(shop, _dispatch_starts(shop, text), max_iterations=5000)
    assert shop.makespan(found) == 55


def test_parallel_tabu_takes_the_best_of_its_searches(jssp_dir: Path) -> None:
    text = (jssp_dir / "la29.txt").read_text()
    shop = Shop.of(parse_jssp(text, "la29"))
    start = _dispatch_starts(shop, text)
    for neighbourhoods in (("n7",), ("n7", "n5")):  # one neighbourhood, or one per search
        found = parallel_tabu(shop, start, 0.5, workers=2, seed=3, neighbourhoods=neighbourhoods)
        assert shop.violations(found) == []
        assert shop.makespan(found) <= shop.makespan(start)


def test_tabu_search_stops_at_the_lower_bound() -> None:
    shop = Shop.of(parse_jssp("2 2\n0 3 1 1\n1 2 0 2\n"))
    found, steps = tabu_search(shop, [0, 3, 4, 6], max_iterations=100)
    assert shop.makespan(found) == 5 == shop.lower_bound() and steps < 100


def test_an_unknown_neighbourhood_is_refused() -> None:
    shop = Shop.of(parse_jssp(TINY))
    with pytest.raises(ValueError, match="neighbourhood"):
        tabu_search(shop, [0, 3, 3, 5], max_iterations=10, neighbourhood="n9")
