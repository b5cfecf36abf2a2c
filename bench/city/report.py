"""The city's figures from one run, and the lines the bench prints."""

from __future__ import annotations

import statistics

from .scenario import Run
from .watch import Snapshot

#: The issue's goals for this box.
CATCH_UP_RATIO_GOAL = 1.5
REQUESTS_PER_BATCH_GOAL = 1.2


def requests_per_batch(first: Snapshot, last: Snapshot) -> float:
    """Write requests sent (acknowledged + failed) per request acknowledged, between two snapshots."""
    acked = last.total("requests") - first.total("requests")
    failed = last.total("failures") - first.total("failures")
    if not acked:
        return float("inf") if failed else 1.0
    return (acked + failed) / acked


def figures(run: Run) -> dict[str, float]:
    """Every figure of the run, by name (for bench/results/*.json)."""
    first, last = run.at_restore, run.at_caught
    span = max(1e-3, last.t - first.t)
    caught = [t - run.restored_t for t in run.caught_t if t is not None]
    catch_up = max(caught) if run.caught_up else float("nan")
    rows = last.store.rows - first.store.rows
    recovery = [s for s in run.snapshots if s.phase == "recovery"]
    rates = [
        (b.store.rows - a.store.rows) / max(1e-3, b.t - a.t)
        for a, b in zip([first, *recovery], recovery, strict=False)
    ]
    ledgers = list(run.books.values())
    agents_cpu = [b.cpu_s - a.cpu_s for a, b in zip(first.agents, last.agents, strict=True)]
    return {
        "schools": run.plan.schools,
        "outage_s": run.outage,
        "backlog_hours_prefilled": run.plan.backlog_hours,
        "meters_report_on_change": 1.0 if run.plan.report == "on_change" else 0.0,
        "backlog_points_prefilled": run.prefilled_points,
        "backlog_rows_prefilled": run.prefilled_rows,
        "backlog_rows_prefilled_agents_own": run.prefilled_own_rows,
        "backlog_fields_per_point": run.backlog_fields_per_point,
        "backlog_points_at_restore": first.backlog,
        "catch_up_s": catch_up,
        "catch_up_median_school_s": statistics.median(caught) if caught else float("nan"),
        "schools_caught_up": len(caught),
        "store_rows_during_catch_up": rows,
        "store_raw_ingest_s": run.raw_s,
        "catch_up_over_raw": catch_up / run.raw_s if run.raw_s else float("nan"),
        "raw_writer_refused": run.raw_refused,
        "requests_per_delivered_batch": requests_per_batch(run.at_reopen, last),
        "failed_tries_during_outage": run.at_reopen.total("failures") - run.at_cut.total("failures"),
        "answered_429": run.answers.get(429, 0),
        "answered_503": run.answers.get(503, 0),
        "store_refused_inserts_503": last.store.refused - first.store.refused,
        "store_ingest_mean_rows_per_s": rows / span,
        "store_ingest_peak_rows_per_s": max(rates, default=0.0),
        "agents_cpu_cores_during_catch_up": sum(agents_cpu) / span,
        "agent_cpu_share_max_during_catch_up": max(agents_cpu, default=0.0) / span,
        "store_cpu_cores_during_catch_up": (last.store.cpu_s - first.store.cpu_s) / span,
        "agent_rss_mb_mean": statistics.fmean(a.rss_mb for a in last.agents) if last.agents else 0.0,
        "agent_peak_rss_mb_max": max((a.peak_rss_mb for a in last.agents), default=0.0),
        "books_balanced_schools": sum(1 for b in ledgers if b.balanced()),
        "accepted_points": sum(b.accepted for b in ledgers),
        "delivered_points": sum(b.delivered for b in ledgers),
        "dead_lettered_points": sum(b.dead_lettered for b in ledgers),
        "dropped_points": sum(b.dropped for b in ledgers),
        "duplicate_points": sum(b.duplicates for b in ledgers),
        "agents_exited_nonzero": sum(1 for code in run.exit_codes if code != 0),
    }


def lines(run: Run) -> list[str]:
    """The report: the figures, then each school whose books do not balance."""
    values = figures(run)
    plan = run.plan
    out = [
        f"city: {plan.schools} schools x {plan.meters} meters at {plan.meter_interval} "
        f"(report {plan.report}), outage "
        f"{run.outage:g}s (+{plan.backlog_hours:g} h prefilled), "
        f"store -maxConcurrentInserts={plan.store_inserts} "
        f"-insert.maxQueueDuration={plan.store_queue}, sink retry_max {plan.retry_max}"
    ]
    out += [f"  {name:<40} {value:>14,.2f}" for name, value in values.items()]
    ratio, retries = values["catch_up_over_raw"], values["requests_per_delivered_batch"]
    out.append(
        f"  goals: catch-up <= {CATCH_UP_RATIO_GOAL}x raw ingest: "
        f"{_verdict(ratio <= CATCH_UP_RATIO_GOAL)}; "
        f"<= {REQUESTS_PER_BATCH_GOAL} requests per delivered batch: "
        f"{_verdict(retries <= REQUESTS_PER_BATCH_GOAL)}; every school's books balance: "
        f"{_verdict(values['books_balanced_schools'] == plan.schools)}"
    )
    for code, ledger in run.books.items():
        if not ledger.balanced():
            out.append("  UNBALANCED " + ledger.line(code) + f"  still buffered {ledger.still_buffered}")
    out += [f"  note: {note}" for note in run.notes]
    return out


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
