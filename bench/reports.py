"""`python -m bench.reports`: a month of a 1,000-agent center's reports on PostgreSQL (docs/reports.md).

A throwaway PostgreSQL cluster (tests/support/postgres.py) is migrated and filled in SQL
(`generate_series`): a million calls over the last 30 days, in four queues (one with no queue),
answered or abandoned, each answered call with its agent as a member; and the agents' work logs
(agents/worklog.py) those calls would have written: offered, busy, the finished call, wrap-up,
available again. Then `GET /api/reports/intervals/` is asked, through the real view in this
process (DRF, the report, the JSON), for every kind of report the page asks for, and timed.

The first report of a month counts the month's quarters of an hour once (`QuarterFigures`): that
first read is timed on its own ("cold"); a running desk counts each quarter an hour after it ends
(a job of every process), so what supervisors wait for is the warm figure. Target: every kind
under 200 ms at p95, warm.

Figures go to docs/benchmarks.md (the "Reports" section) unless `--no-docs`; `bench/run.py` runs
this as a phase of its own. Not part of `make test`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from bench.history import _execution_ms, _plan_summary, log, set_up_django, timed_reads_main, write_docs
from tests.support.postgres import PostgresCluster

TARGET_MS = 200.0
AGENTS = 1000
DAYS = 30
SECTION = ("<!-- reports:start -->", "<!-- reports:end -->")

# Call n started waiting n·(30 days / calls) seconds ago: answered 85 in 97 (after (7n mod 90) s, talking
# 60 + (13n mod 900) s), the others abandoned (after 40 s); queues Sales (30 s service level), Support
# (the default 20 s), Billing (60 s) and none, in turn. Agent 1 + 31n mod 1,000 answers call n, so
# each agent has a call every 1,000 calls (43 minutes): offered 4 s before the answer, busy until
# the end, 30 s of wrap-up, then available.
FILL_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                       date_joined)
SELECT '!', n = 0, 'agent' || n, '', '', '', false, true, now() FROM generate_series(0, {agents}) n;
INSERT INTO agents_agent (user_id, name, address, address_key, status, status_since, status_reason, chosen_status,
                          disposition_pending, is_supervisor, skills_shown)
SELECT u.id, 'Agent ' || substr(u.username, 6), '+1415' || lpad(substr(u.username, 6), 7, '0'),
       '1415' || lpad(substr(u.username, 6), 7, '0'), 'available', now(), '', 'available', false,
       u.username = 'agent0', '[]'
FROM auth_user u WHERE u.username LIKE 'agent%';
INSERT INTO calls_phloapp (name, phlo_id, node_id, auth_id, auth_token, is_default, routing, record_calls, caller_id,
                           created_at)
VALUES ('Bench line', 'bench-reports', 'node', 'MABENCH', 'bench-token', true, true, false, '', now());
INSERT INTO calls_queue (name, numbers, priority, service_level_seconds, is_default)
VALUES ('Sales', '[]', 2, 30, false), ('Support', '[]', 1, NULL, true), ('Billing', '[]', 0, 60, false);

CREATE TEMP TABLE plan AS
SELECT n,
       now() - make_interval(secs => n * {spacing}) AS waited,
       n % 97 < 85 AS answered,
       (n * 7) % 90 AS wait,
       60 + (n * 13) % 900 AS talk,
       1 + (n * 31) % {agents} AS agent_n,
       CASE n % 4 WHEN 0 THEN 'Sales' WHEN 1 THEN 'Support' WHEN 2 THEN 'Billing' END AS queue
FROM generate_series(1::bigint, {calls}) n;

INSERT INTO calls_call (id, phlo_app_id, mpc_uuid, mpc_name, run_id, direction, status, started_at, waiting_since,
                        missed_offers, answered_at, ended_at, outcome, was_transferred, termination_cause,
                        termination_cause_code, recording, recordings, notes, version, created_at, called_number,
                        queue_id, declined_by, wrap_ups)
SELECT p.n, (SELECT id FROM calls_phloapp), 'mpc-' || p.n, '', '', 'inbound', 'ended', p.waited, p.waited, 0,
       CASE WHEN p.answered THEN p.waited + make_interval(secs => p.wait) END,
       p.waited + make_interval(secs => CASE WHEN p.answered THEN p.wait + p.talk ELSE 40 END),
       CASE WHEN p.answered THEN 'answered' ELSE 'abandoned' END, false, '', '', '', '[]', '', 3, p.waited, '',
       (SELECT id FROM calls_queue q WHERE q.name = p.queue), '[]', '[]'
FROM plan p;

INSERT INTO calls_member (call_id, member_id, call_uuid, address, address_key, address_digits_reversed, role, state,
                          transfer_role, joined_via, muted, coach_mode, agent_id, joined_at, left_at, created_at)
SELECT p.n, 'a-' || p.n, '', a.address, a.address_key, reverse(a.address_key), 'agent', 'left', '', 'routed', false,
       false, a.id,
       p.waited + make_interval(secs => p.wait), p.waited + make_interval(secs => p.wait + p.talk),
       p.waited + make_interval(secs => p.wait)
FROM plan p JOIN agents_agent a ON a.name = 'Agent ' || p.agent_n
WHERE p.answered;

CREATE TEMP TABLE changes AS
SELECT a.id AS agent_id, c.at, c.status, c.seq, c.talk
FROM plan p JOIN agents_agent a ON a.name = 'Agent ' || p.agent_n
CROSS JOIN LATERAL (VALUES
    (p.waited + make_interval(secs => p.wait - 4), 'offered', 1, NULL::interval),
    (p.waited + make_interval(secs => p.wait), 'busy', 2, NULL),
    (p.waited + make_interval(secs => p.wait + p.talk), 'busy', 3, make_interval(secs => p.talk)),
    (p.waited + make_interval(secs => p.wait + p.talk), 'wrap_up', 4, NULL),
    (p.waited + make_interval(secs => p.wait + p.talk + 30), 'available', 5, NULL)
) AS c(at, status, seq, talk)
WHERE p.answered;

INSERT INTO agents_worklog (agent_id, at, status, available, offered, busy, wrap_up, handled, talk, hold)
SELECT agent_id, at, status,
       coalesce(sum(CASE WHEN before = 'available' THEN at - since END) OVER w, interval '0'),
       coalesce(sum(CASE WHEN before = 'offered' THEN at - since END) OVER w, interval '0'),
       coalesce(sum(CASE WHEN before = 'busy' THEN at - since END) OVER w, interval '0'),
       coalesce(sum(CASE WHEN before = 'wrap_up' THEN at - since END) OVER w, interval '0'),
       count(talk) OVER w, coalesce(sum(talk) OVER w, interval '0'), interval '0'
FROM (
    SELECT *, lag(status) OVER (PARTITION BY agent_id ORDER BY at, seq) AS before,
              lag(at) OVER (PARTITION BY agent_id ORDER BY at, seq) AS since
    FROM changes
) c
WINDOW w AS (PARTITION BY agent_id ORDER BY at, seq ROWS UNBOUNDED PRECEDING);

SELECT setval(pg_get_serial_sequence('calls_call', 'id'), (SELECT max(id) FROM calls_call));
DROP TABLE plan;
DROP TABLE changes;
"""


def fill(calls: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(FILL_SQL.format(calls=calls, agents=AGENTS, spacing=DAYS * 86_400 / calls))
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves tables that stopped changing
        counts = {}
        for table in ("calls_call", "calls_member", "agents_worklog"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        (size,) = cursor.fetchone()
    seconds = time.monotonic() - started
    log(f"{counts['calls_call']:,} calls, {counts['calls_member']:,} agent members, "
        f"{counts['agents_worklog']:,} work log rows, {size} in {seconds:.0f} s")
    return {"calls": counts["calls_call"], "members": counts["calls_member"], "worklog": counts["agents_worklog"],
            "database_size": size, "fill_seconds": round(seconds)}


def asks(agent_id: int) -> list[tuple[str, dict]]:
    """(name, query): every kind of report the page asks for, over the last 30 days unless said."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    month = {"since": (now - timedelta(days=DAYS)).isoformat(), "until": now.isoformat()}
    day = {"since": (now - timedelta(days=2)).date().isoformat(), "until": (now - timedelta(days=2)).date().isoformat()}
    return [
        ("a month by the hour", {**month, "interval": "1h", "tz": "UTC"}),
        ("a month by the day, New York", {**month, "interval": "1d", "tz": "America/New_York"}),
        ("a month by the quarter hour, Kolkata", {**month, "interval": "15m", "tz": "Asia/Kolkata"}),
        ("a month by the half hour, one queue", {**month, "interval": "30m", "tz": "Europe/Paris", "queue": "Sales"}),
        ("a month by the day, one agent", {**month, "interval": "1d", "tz": "UTC", "agent": agent_id}),
        ("a day by the quarter hour", {**day, "interval": "15m", "tz": "Europe/Paris"}),
        ("today by the hour", {"since": now.date().isoformat(), "until": now.date().isoformat(), "interval": "1h",
                               "tz": "UTC"}),
        ("a month by the hour, as CSV", {**month, "interval": "1h", "tz": "UTC", "format": "csv"}),
    ]


def _timed(client, query: dict) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get("/api/reports/intervals/", query)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.content[:500]
    return elapsed, len(response.content)


def _plans(month_query: dict) -> dict[str, str]:
    """PostgreSQL's plans of a month's two reads: the counted quarters, and the last hour's calls."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from calls.core.measures import counted_calls, sums
    from calls.history import reports
    from calls.models import QuarterFigures

    intervals = reports.Intervals("1h", ZoneInfo("UTC"))
    since, until = (datetime.fromisoformat(month_query[name]) for name in ("since", "until"))
    starts = intervals.starts(since, until)
    edge = reports.seal_edge(timezone.now())
    quarters = reports._from_quarters(intervals, QuarterFigures.objects.filter(quarter__gte=starts[0],
                                                                                quarter__lt=edge))
    recent = counted_calls(edge, starts[-1]).annotate(key=intervals.key("waiting_since")).values("key")
    plans = {"quarters": quarters.explain(analyze=True), "last hour": recent.annotate(**sums()).explain(analyze=True)}
    return {name: f"{_plan_summary(plan)} ({_execution_ms(plan):.1f} ms)" for name, plan in plans.items()}


def measure(repeat: int) -> tuple[list[dict], dict]:
    from rest_framework.test import APIClient

    from agents.models import Agent

    supervisor = Agent.objects.get(is_supervisor=True)
    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(supervisor.user)
    agent_id = Agent.objects.get(name="Agent 17").pk
    kinds = asks(agent_id)
    cold_ms, _ = _timed(client, kinds[0][1])  # counts the month's quarters
    log(f"first report of the month (counts {DAYS * 96:,} quarters): {cold_ms:.0f} ms")
    results = []
    for name, query in kinds:
        for _ in range(3):
            _timed(client, query)
        times = []
        size = 0
        for _ in range(repeat):
            elapsed, size = _timed(client, query)
            times.append(elapsed)
        row = {"step": name, "p50": statistics.median(times), "p95": sorted(times)[int(0.95 * (len(times) - 1))],
               "max": max(times), "bytes": size}
        results.append(row)
        log(f"{name:<44} p50 {row['p50']:6.1f}  p95 {row['p95']:6.1f}  max {row['max']:6.1f} ms  {size:,} bytes")
    return results, {"cold_ms": cold_ms, "plans": _plans(kinds[0][1])}


def _plan_words(plan: str) -> str:
    """A plan without an index is a sequential scan of a table that holds little but the month here;
    with months of quarters kept, PostgreSQL reads them by `report_quarters` (quarter, queue)."""
    if plan.startswith("no index"):
        return "a sequential scan" + plan[len("no index"):] + " (the table holds only this month here; with months " \
            "of quarters kept, by `report_quarters`)"
    return plan


def render(figures: dict, results: list[dict], extra: dict, seconds: float, load: tuple[float, float]) -> str:
    worst = max(r["p95"] for r in results)
    met = worst < TARGET_MS
    lines = [
        SECTION[0],
        "## Reports: a month of a 1,000-agent center (`python -m bench.reports`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in {seconds / 60:.1f} min on a throwaway "
        f"PostgreSQL cluster: {figures['calls']:,} calls over the last {DAYS} days in four queues (one with none), "
        f"{figures['members']:,} agent members, {AGENTS:,} agents' work logs of {figures['worklog']:,} rows "
        f"({figures['database_size']}, filled with `generate_series` in {figures['fill_seconds']} s). Each report "
        "is `GET /api/reports/intervals/` through the real view in the bench's process (DRF, the report, the "
        "JSON or CSV), after three warm reads; milliseconds over the repetitions.",
        "",
        f"Target: a month's report under {TARGET_MS:.0f} ms at p95. **{'Met' if met else 'Not met'}**: the slowest "
        f"p95 is {worst:.1f} ms. Load average (1 min) {load[0]:.2f} when the reads began, {load[1]:.2f} at the "
        f"end, on {os.cpu_count()} cores.",
        "",
        "| report | p50 ms | p95 ms | max ms | answer |",
        "|---|---|---|---|---|",
        *(f"| {r['step']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['bytes']:,} bytes |"
          for r in results),
        "",
        f"The first report of the month counted its {DAYS * 96:,} quarters of an hour (`QuarterFigures`) in "
        f"{extra['cold_ms'] / 1000:.1f} s; a running desk counts each quarter an hour after it ends (a job of "
        "every process), so that is paid once, not by a supervisor. PostgreSQL reads the month's counted quarters "
        f"by {_plan_words(extra['plans']['quarters'])}, and the last hour's calls by {extra['plans']['last hour']}; "
        "each agent's figures are two rows of their work log, read by `agent_worklog`.",
        "",
        SECTION[1],
    ]
    return "\n".join(lines)


def run(*, calls: int, repeat: int, docs: bool) -> dict:
    started = time.monotonic()
    log(f"starting a PostgreSQL cluster and filling it with {calls:,} calls over {DAYS} days")
    cluster = PostgresCluster().start()
    try:
        set_up_django(cluster.create_database("reports"))
        figures = fill(calls)
        load_before = os.getloadavg()[0]
        results, extra = measure(repeat)
        load = (load_before, os.getloadavg()[0])
    finally:
        from django.db import connections

        connections.close_all()
        cluster.stop()
    seconds = time.monotonic() - started
    section = render(figures, results, extra, seconds, load)
    print(section)
    if docs:
        write_docs(section, SECTION)
    return {**figures, **extra, "steps": results, "seconds": seconds, "target_ms": TARGET_MS, "load": load}


def main(argv: list[str] | None = None) -> int:
    return timed_reads_main(__doc__, run, TARGET_MS, argv, timed="report")


if __name__ == "__main__":
    sys.exit(main())
