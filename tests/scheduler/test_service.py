"""Orchestration against real PostgreSQL and the real solver: load, solve, store, claim."""

from __future__ import annotations

import threading
from datetime import timedelta

from api import plans
from millwright.core.storage.database import Database
from scheduler import risks_the_plan_answers, service
from scheduler.store import load_problem
from tests.scheduler.plant import (
    CONFIG,
    NOW,
    seed_job,
    seed_long_plant,
    seed_machines,
    seed_risk,
)


def _assignments(database: Database, schedule_id: int) -> list[tuple]:
    return database.execute(
        "SELECT a.kind, m.name, o.seq, j.external_id, a.start_at, a.end_at, a.reason"
        " FROM schedule_assignments a JOIN machines m ON m.id = a.machine_id"
        " LEFT JOIN operations o ON o.id = a.operation_id LEFT JOIN jobs j ON j.id = o.job_id"
        " WHERE a.schedule_id = %s ORDER BY a.start_at, m.name",
        (schedule_id,),
    )


def test_load_problem_converts_rows_to_minutes(database: Database) -> None:
    ids = seed_machines(database)
    seed_risk(database, ids["M3"], rul_low_hours=5)
    seed_job(database, "J1", [{ids["M1"]: 600}, {ids["M2"]: 90, ids["M3"]: 60}])
    database.execute(
        "INSERT INTO machine_downtime (machine_id, start_at, end_at) VALUES (%s, %s, %s)",
        (ids["M2"], NOW + timedelta(hours=1), NOW + timedelta(hours=2)),
    )
    with database.connection() as conn:
        loaded = load_problem(conn, CONFIG, NOW - timedelta(seconds=30))
    problem = loaded.problem
    assert loaded.plan_start == NOW  # rounded up to the next whole minute
    assert problem.horizon == 24 * 60
    assert [(op.job, op.seq, op.options) for op in problem.operations] == [
        ("J1", 0, {"M1": 10}),
        ("J1", 1, {"M2": 2, "M3": 1}),
    ]
    assert problem.job("J1").due == 8 * 60
    assert next(m for m in problem.machines if m.name == "M2").unavailable == ((60, 120),)
    (risk,) = problem.risks
    assert (risk.machine, risk.rul_low, risk.window) == ("M3", 300, 1440)
    (task,) = problem.maintenance
    assert (task.machine, task.deadline, task.duration) == ("M3", 300, 60)


def test_a_risk_scored_before_the_last_maintenance_is_not_loaded(database: Database) -> None:
    """M3 was scored at risk, then maintained (and scored again while in maintenance, from
    windows of its worn readings): those scores are of the life that ended and drive no second
    maintenance; M1's score after its repair still counts."""
    ids = seed_machines(database)
    seed_risk(database, ids["M3"], rul_low_hours=5, at=NOW - timedelta(hours=3))
    seed_risk(database, ids["M3"], rul_low_hours=4, at=NOW - timedelta(hours=1))
    seed_risk(database, ids["M1"], rul_low_hours=5, at=NOW - timedelta(minutes=10))
    database.execute(
        "INSERT INTO events (ts, machine_id, kind, ends_at) VALUES"
        " (%(m)s, %(m3)s, 'maintenance', %(end)s), (%(f)s, %(m1)s, 'failure', NULL),"
        " (%(f)s, %(m1)s, 'repair', %(fixed)s)",
        {
            "m": NOW - timedelta(hours=2), "end": NOW - timedelta(minutes=30), "m3": ids["M3"],
            "f": NOW - timedelta(hours=30), "fixed": NOW - timedelta(hours=6), "m1": ids["M1"],
        },
    )  # fmt: skip
    with database.connection() as conn:
        problem = load_problem(conn, CONFIG, NOW).problem
        answered = risks_the_plan_answers(conn)
    assert [r.machine for r in problem.risks] == ["M1"]
    assert [t.machine for t in problem.maintenance] == ["M1"]
    assert [r.machine for r in answered] == ["M1"], "the demo's watch reads the plan's rule"


def test_a_maintenance_under_way_stays_in_the_plan_until_it_ends(database: Database) -> None:
    """M3's maintenance started an hour ago and ends in 90 minutes: the plan holds it from now
    to its end (no work on M3 meanwhile), not a second maintenance from its old risk."""
    ids = seed_machines(database)
    seed_risk(database, ids["M3"], rul_low_hours=5, at=NOW - timedelta(hours=2))
    seed_job(database, "J1", [{ids["M3"]: 3600}])
    database.execute(
        "INSERT INTO events (ts, machine_id, kind, ends_at) VALUES (%s, %s, 'maintenance', %s)",
        (NOW - timedelta(hours=1), ids["M3"], NOW + timedelta(minutes=90)),
    )
    with database.connection() as conn:
        problem = load_problem(conn, CONFIG, NOW).problem
    assert problem.risks == ()
    (task,) = problem.maintenance
    assert (task.machine, task.duration, task.deadline) == ("M3", 90, 90)
    request = service.request_schedule(database, "alice", time_limit_s=3)
    claimed = service.claim_next(database, "w1")
    assert claimed == request.id
    done = service.solve_schedule(database, CONFIG, claimed, now=NOW)
    rows = _assignments(database, done.id)
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [
        ("maintenance", "M3", NOW, NOW + timedelta(minutes=90)),
        ("operation", "M3", NOW + timedelta(minutes=90), NOW + timedelta(minutes=150)),
    ]
    assert rows[0][6]["under_way"] is True


def test_worker_solves_request_and_marks_plan_current(database: Database) -> None:
    ids = seed_machines(database)
    seed_risk(database, ids["M3"], rul_low_hours=5)
    seed_job(database, "J1", [{ids["M1"]: 1200}, {ids["M2"]: 1800, ids["M3"]: 1800}])
    first = service.request_schedule(database, "alice", time_limit_s=3)
    assert first.state == "requested"
    assert service.request_schedule(database, "bob", time_limit_s=3).id == first.id  # reused
    claimed = service.claim_next(database, "w1")
    assert claimed == first.id
    done = service.solve_schedule(database, CONFIG, claimed, now=NOW)
    assert (done.state, done.is_current, done.solver_status) == ("done", True, "optimal")
    assert done.objective is not None and done.bound is not None
    assert done.runtime_s is not None and done.runtime_s > 0
    rows = _assignments(database, done.id)
    maintenance = [r for r in rows if r[0] == "maintenance"]
    assert len(maintenance) == 1 and maintenance[0][1] == "M3"
    assert maintenance[0][5] <= NOW + timedelta(hours=5)  # finishes before rul_low
    assert maintenance[0][6]["risk"]["rul_low_hours"] == 5
    ops = {(r[3], r[2]): r for r in rows if r[0] == "operation"}
    assert ops[("J1", 1)][1] == "M2"  # moved off the risky machine
    assert "M3" in ops[("J1", 1)][6]["text"]
    assert done.summary["jobs"][0]["job"] == "J1"

    second = service.request_schedule(database, "alice", time_limit_s=3)
    assert second.id != first.id
    service.solve_schedule(database, CONFIG, service.claim_next(database, "w2") or 0, now=NOW)
    current = database.execute("SELECT id FROM schedules WHERE is_current")
    assert current == [(second.id,)]


def test_frozen_window_keeps_imminent_work_in_place(database: Database) -> None:
    ids = seed_machines(database, ("M1", "M2"))
    seed_job(database, "J1", [{ids["M1"]: 600, ids["M2"]: 600}])
    first = service.request_schedule(database, None, time_limit_s=2)
    service.solve_schedule(database, CONFIG, first.id, now=NOW)
    (before,) = [r for r in _assignments(database, first.id) if r[0] == "operation"]
    # A more urgent job for the same machine arrives a minute later; J1 starts inside the
    # 30 min frozen window, so it keeps its machine and goes first (as soon as possible).
    seed_job(database, "J2", [{ids[before[1]]: 600}], due=NOW + timedelta(minutes=11))
    second = service.request_schedule(database, None, time_limit_s=2)
    service.solve_schedule(database, CONFIG, second.id, now=NOW + timedelta(minutes=1))
    after = {r[3]: r for r in _assignments(database, second.id) if r[0] == "operation"}
    assert (after["J1"][1], after["J1"][4]) == (before[1], NOW + timedelta(minutes=1))
    assert after["J2"][4] == after["J1"][5]


def test_running_operation_is_pinned_and_done_steps_drop_out(database: Database) -> None:
    ids = seed_machines(database, ("M1", "M2"))
    job = seed_job(database, "J1", [{ids["M1"]: 600}, {ids["M1"]: 600, ids["M2"]: 600}])
    database.execute(
        "UPDATE operations SET status = 'in_progress', machine_id = %s, started_at = %s"
        " WHERE job_id = %s AND seq = 0",
        (ids["M1"], NOW - timedelta(minutes=4), job),
    )
    with database.connection() as conn:
        loaded = load_problem(conn, CONFIG, NOW)
    (running,) = loaded.problem.previous
    assert (running.seq, running.machine, running.start) == (0, "M1", -4)
    assert loaded.problem.frozen().keys() == {("J1", 0)}


def test_offline_machine_work_moves_or_waits_and_gets_no_maintenance(database: Database) -> None:
    ids = seed_machines(database, ("M1", "M2"))
    database.execute("UPDATE machines SET status = 'offline' WHERE name = 'M1'")
    seed_risk(database, ids["M1"], rul_low_hours=5)
    seed_job(database, "J1", [{ids["M1"]: 600}])
    seed_job(database, "J2", [{ids["M1"]: 600, ids["M2"]: 600}])
    record = service.request_schedule(database, None, time_limit_s=2)
    done = service.solve_schedule(database, CONFIG, record.id, now=NOW)
    assert done.state == "done" and done.is_current
    assert done.summary["unplaced"] == [
        {"subject": "J1/0", "reason": "J1/0 waiting for M1 (offline, down until further notice)"}
    ]
    rows = _assignments(database, record.id)
    assert [(r[0], r[1], r[3]) for r in rows] == [("operation", "M2", "J2")]  # no maint-M1
    job = plans.job_plan(database, "J1")
    assert job.operations == [] and job.unplaced[0].reason.startswith("J1/0 waiting for M1")
    with database.connection() as conn:
        assert risks_the_plan_answers(conn) == [], "an offline machine has no risk to answer"


def test_overdue_order_is_late_not_infeasible(database: Database) -> None:
    ids = seed_machines(database, ("M1",))
    seed_job(
        database, "SO-1", [{ids["M1"]: 600}],
        release=NOW - timedelta(days=3), due=NOW - timedelta(days=2),
    )  # fmt: skip
    record = service.request_schedule(database, None, time_limit_s=2)
    done = service.solve_schedule(database, CONFIG, service.claim_next(database, "w") or 0, now=NOW)
    assert (done.id, done.state, done.solver_status) == (record.id, "done", "optimal")
    (outcome,) = done.summary["jobs"]
    assert outcome["lateness_minutes"] == 2 * 1440 + 10  # starts now, 10 min long
    assert plans.job_plan(database, "SO-1").operations[0].start_at == NOW


def test_breakdown_lets_frozen_work_go_and_the_replan_moves_it(database: Database) -> None:
    ids = seed_machines(database, ("M1", "M2"))
    seed_job(database, "J1", [{ids["M1"]: 600, ids["M2"]: 900}])
    seed_job(database, "J2", [{ids["M2"]: 600}], due=NOW + timedelta(hours=20))
    first = service.request_schedule(database, None, time_limit_s=2)
    service.solve_schedule(database, CONFIG, first.id, now=NOW)
    before = {r[3]: r for r in _assignments(database, first.id)}
    assert before["J1"][1] == "M1" and before["J1"][4] == NOW  # frozen at the next replan
    database.execute(
        "INSERT INTO machine_downtime (machine_id, start_at, end_at) VALUES (%s, %s, %s)",
        (ids["M1"], NOW, NOW + timedelta(hours=2)),
    )
    second = service.request_schedule(database, None, time_limit_s=2)
    done = service.solve_schedule(database, CONFIG, second.id, now=NOW + timedelta(minutes=1))
    after = {r[3]: r for r in _assignments(database, second.id)}
    # J2 (frozen on M2, due now) stays; J1 moves behind it.
    assert (after["J2"][1], after["J2"][4]) == ("M2", NOW + timedelta(minutes=1))
    assert (after["J1"][1], after["J1"][4]) == ("M2", NOW + timedelta(minutes=11))
    assert done.summary["released"] == [
        "frozen J1/0 on M1 let go: M1 is down Mon 2030-01-07 06:01 UTC to Mon 2030-01-07 08:00 UTC"
    ]
    assert done.summary["moved_operations"] == 1
    public = plans.read_schedule(database, second.id)
    assert public.moved_operations == 1 and public.released == done.summary["released"]


def test_failed_request_leaves_the_previous_plan_current_but_stale(database: Database) -> None:
    ids = seed_machines(database, ("M1",))
    seed_job(database, "J1", [{ids["M1"]: 600}])
    first = service.request_schedule(database, None, time_limit_s=2)
    service.solve_schedule(database, CONFIG, first.id, now=NOW)
    assert service.plan_status(database).stale is False
    for name in ("J2", "J3"):  # each fits the 24 h horizon alone, not both
        seed_job(database, name, [{ids["M1"]: 20 * 3600}])
    second = service.request_schedule(database, None, time_limit_s=2)
    failed = service.solve_schedule(database, CONFIG, second.id, now=NOW)
    assert (failed.state, failed.solver_status) == ("failed", "infeasible")
    assert "horizon: all work must end by Tue 2030-01-08 06:00 UTC" in (failed.error or "")
    status = service.plan_status(database)
    assert (status.schedule_id, status.stale, status.failed_schedule_id) == (
        first.id, True, second.id,
    )  # fmt: skip
    plan = plans.current_plan(database)
    assert plan.schedule.id == first.id and plan.status.stale
    assert plan.status.stale_reason == failed.error
    public = plans.read_schedule(database, second.id)  # GET /schedules/{id}
    assert (public.state, public.solver_status) == ("failed", "infeasible")
    assert public.is_current is False and public.status_reason is not None
    assert "horizon: all work must end by Tue 2030-01-08 06:00 UTC" in public.status_reason


def test_stale_claim_is_requeued_and_worker_stops_on_event(database: Database) -> None:
    seed_machines(database, ("M1",))
    record = service.request_schedule(database, None)
    assert service.claim_next(database, "dead") == record.id
    assert service.claim_next(database, "other") is None  # already claimed
    database.execute("UPDATE schedules SET claimed_at = now() - interval '1 hour'")
    assert service.requeue_stale(database, 60) == 1
    stop = threading.Event()
    thread = threading.Thread(target=service.run_worker, args=(database, CONFIG, stop))
    thread.start()
    for _ in range(200):
        current = service.get_schedule(database, record.id)
        if current is not None and current.state == "done":
            break
        stop.wait(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert service.get_schedule(database, record.id).state == "done"  # type: ignore[union-attr]


def test_the_worker_stop_ends_a_long_solve_with_a_stored_plan(database: Database) -> None:
    """A plant large enough to search for the whole 60 s limit: the worker's stop signal,
    set a second into the solve, ends it well under the limit with its best plan stored (so
    SIGTERM never holds a worker for a whole solve)."""
    import time
    from datetime import UTC, datetime

    operations = seed_long_plant(database, datetime.now(UTC))  # the worker plans by wall clock
    record = service.request_schedule(database, "alice", time_limit_s=60)
    stop = threading.Event()
    worker = threading.Thread(
        target=service.run_worker, args=(database, CONFIG, stop), kwargs={"once": True}
    )
    worker.start()
    deadline = time.monotonic() + 30
    while service.get_schedule(database, record.id).state != "solving":  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the worker never claimed the request"
        time.sleep(0.05)
    time.sleep(1.0)
    stopped = time.monotonic()
    stop.set()
    worker.join(20)
    assert not worker.is_alive(), "the solve did not stop"
    assert time.monotonic() - stopped < 20
    done = service.get_schedule(database, record.id)
    assert done is not None and done.state == "done", done
    assert done.solver_status != "optimal"  # it was stopped, not finished
    assert len(_assignments(database, record.id)) >= operations
