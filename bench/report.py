"""The table printed at the end of `make bench`, docs/benchmarks.md and docs/benchmarks-latency.png."""

from __future__ import annotations

import math
import time
from pathlib import Path

from tests.support.servers import ROOT

DOCS = ROOT / "docs"
PLOT = "benchmarks-latency.png"

PHASE_TITLES = {
    "daphne": "Daphne, in-memory layer",
    "redis": "Daphne, REDIS_URL (channels-redis pub/sub)",
    "uvicorn": "uvicorn, in-memory layer",
    "stack: daphne": "the serving stack: Daphne",
    "stack: uvicorn": "the serving stack: uvicorn (httptools, uvloop)",
    "bare": "bare async view on Daphne (HTTP answer)",
    "cpu": "per-callback CPU",
    "routing": "routing step",
}


def _ms(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _verdict(ok: bool | None) -> str:
    return "undetermined" if ok is None else ("**met**" if ok else "**not met**")


HOLDS_STEP = "hold/unhold"  # the label of the step shaped like the outside load (bench/run.py)


def targets(report: dict) -> list[tuple[str, str, str, bool | None, str]]:
    """(target, goal, measured, met, distance): every target of the issue, in its order."""
    f = report["figures"]
    rows = []
    target = f.get("daphne.target")
    if target:
        lat = target["socket_latency"]
        ok = lat["p50"] <= 10 and lat["p99"] <= 50
        rows.append(
            (
                f"callback → socket latency, {target['rate']:.0f} callbacks/s of the mix (transfers included), "
                f"200 agent + 20 supervisor sockets, {target['duration']:.0f} s",
                "p50 ≤ 10 ms, p99 ≤ 50 ms",
                f"p50 {_ms(lat['p50'])}, p95 {_ms(lat['p95'])}, p99 {_ms(lat['p99'])}, max {_ms(lat['max'])} ms "
                f"({lat['n']} deliveries, achieved {target['achieved_rate']:.0f}/s)",
                ok,
                "" if ok else f"p50 {lat['p50'] - 10:+.1f} ms, p99 {lat['p99'] - 50:+.1f} ms",
            )
        )
    holds = f.get("daphne.holds")
    if holds:
        lat = holds["socket_latency"]
        ok = lat["p99"] <= 50 and holds["lost"] == 0 and holds["non_200"] == 0
        rows.append(
            (
                f"the outside load's shape: {holds['rate']:.0f} hold/unhold callbacks/s on calls that start and end "
                f"(about 6 calls/s, no transfers), 200 agent + 20 supervisor sockets, {holds['duration']:.0f} s",
                "p99 ≤ 50 ms, nothing lost",
                f"p50 {_ms(lat['p50'])}, p95 {_ms(lat['p95'])}, p99 {_ms(lat['p99'])}, max {_ms(lat['max'])} ms "
                f"({lat['n']} deliveries, {holds['lost']} lost, achieved {holds['achieved_rate']:.0f}/s)",
                ok,
                "" if ok else f"p99 {lat['p99'] - 50:+.1f} ms",
            )
        )
    steps = [s for phase in report["steps"].values() for s in phase]
    measured = ("target", HOLDS_STEP)
    lost = sum(s["lost"] for s in steps if s["holds"] or s["label"].startswith(measured))
    dup = sum(s["duplicated"] for s in steps)
    unexpected = sum(s["unexpected"] for s in steps)
    non200 = sum(s["non_200"] for s in steps if s["holds"] or s["label"].startswith(measured))
    seq = sum(s["seq_errors"] for s in steps)
    ok = lost == 0 and dup == 0 and unexpected == 0 and non200 == 0 and seq == 0
    rows.append(
        (
            "every entitled socket gets each update exactly once; every callback answered 200",
            "0 lost, 0 duplicated, 0 non-200",
            f"{lost} lost, {dup} duplicated, {unexpected} to a socket not entitled, {seq} seq gaps, {non200} non-200 "
            "(the target step and every step that held its rate; duplicates and seq gaps: every step)",
            ok,
            "",
        )
    )
    ours, bare = f.get("daphne.sustained"), f.get("bare.sustained")
    if ours is not None and bare:
        ok = ours >= 0.5 * bare
        rows.append(
            (
                "sustained intake (60 s at p99 ≤ 100 ms) vs the bare async view on the same Daphne",
                "≥ 50% of bare",
                f"{ours:.0f}/s vs {bare:.0f}/s = {ours / bare:.0%}",
                ok,
                "" if ok else f"{0.5 * bare - ours:.0f}/s short",
            )
        )
    big = f.get("big")
    if big:
        lat = big["socket_latency"]
        ok = lat["p99"] <= 100 and big["lost"] == 0 and big["non_200"] == 0
        rows.append(
            (
                f"1,000 agent + 50 supervisor sockets, {big['rate']:.0f} callbacks/s of the mix",
                "p99 ≤ 100 ms",
                f"p50 {_ms(lat['p50'])}, p99 {_ms(lat['p99'])}, max {_ms(lat['max'])} ms ({lat['n']} deliveries, "
                f"{big['lost']} lost)",
                ok,
                "" if ok else f"p99 {lat['p99'] - 100:+.1f} ms",
            )
        )
    small, large = f.get("cpu.20"), f.get("cpu.big")
    if small and large:
        ok = large <= 1.5 * small
        rows.append(
            (
                f"server CPU per callback, 1,050 sockets vs 20 ({f.get('big.rate', 30):.0f}/s, same callbacks)",
                "≤ 1.5x",
                f"{large:.2f} vs {small:.2f} ms = {large / small:.2f}x",
                ok,
                "" if ok else f"{large / small - 1.5:+.2f}x",
            )
        )
    redis = f.get("redis.sustained")
    if redis is not None and ours is not None:
        ok = redis >= 0.8 * ours if ours else None
        rows.append(
            (
                "Redis mode sustained rate vs in-memory (60 s each)",
                "≥ 80%",
                f"{redis:.0f}/s vs {ours:.0f}/s" + (f" = {redis / ours:.0%}" if ours else ""),
                ok,
                "no rate held in memory: not comparable"
                if not ours
                else ("" if ok else f"{0.8 * ours - redis:.0f}/s short"),
            )
        )
    pair = f.get("pair") or {}
    if "one" in pair and "two" in pair:
        one, two = pair["one"], pair["two"]
        ok = two >= 1.8 * one if one else None
        rows.append(
            (
                "two Daphne processes (one per core) vs one, PostgreSQL + Redis, sustained rate",
                "≥ 1.8x",
                f"{two:.0f}/s vs {one:.0f}/s" + (f" = {two / one:.2f}x" if one else "")
                + " (database, Redis and the load generator on the same two cores)",
                ok,
                "one process held no rate" if not one else ("" if ok else f"{1.8 * one - two:.0f}/s short"),
            )
        )
    routing = f.get("routing")
    if routing:
        offered = bool(routing.get("n"))
        ok = offered and routing["p99"] <= 50 and routing["not_offered"] == 0
        measured = (
            f"p50 {_ms(routing['p50'])}, p99 {_ms(routing['p99'])}, max {_ms(routing['max'])} ms "
            f"({routing['n']} calls, {routing['not_offered']} not offered)" if offered else "no call was offered"
        )
        kept_up = f.get("routing.sustained") or {}
        if kept_up.get("n"):
            measured += (
                f"; beside {kept_up['background_rate']:.0f}/s (the sustained rate): p50 {_ms(kept_up['p50'])}, "
                f"p99 {_ms(kept_up['p99'])} ms ({kept_up['n']} calls, {kept_up['not_offered']} not offered)"
            )
        queued = f.get("routing.queues") or {}
        if queued.get("n"):
            measured += (
                f"; the same with three queues, skills and an overflow: p50 {_ms(queued['p50'])}, "
                f"p99 {_ms(queued['p99'])} ms ({queued['n']} calls, {queued['not_offered']} not offered)"
            )
        rows.append(
            (
                f"routing: customer's join callback → PHLO `call` request ({routing['customers_per_second']:.1f} "
                f"customers/s beside {routing['background_rate']:.0f} callbacks/s)",
                "p99 ≤ 50 ms",
                measured,
                ok if offered else None,
                "" if ok or not offered else f"p99 {routing['p99'] - 50:+.1f} ms",
            )
        )
    stack = f.get("stack")
    if stack and {"daphne", "uvicorn"} <= set(stack):
        cells = []
        for name, key in (("50/s", "50/s"), ("100/s", "100/s"), ("1,050 sockets at 30/s", "1,050 sockets")):
            d, u = stack["daphne"][key], stack["uvicorn"][key]
            cells.append(
                f"{name}: Daphne p50 {_ms(d['socket_latency']['p50'])} / p99 {_ms(d['socket_latency']['p99'])} ms, "
                f"{d['cpu_per_callback_ms']:.1f} ms CPU; uvicorn p50 {_ms(u['socket_latency']['p50'])} / p99 "
                f"{_ms(u['socket_latency']['p99'])} ms, {u['cpu_per_callback_ms']:.1f} ms CPU"
            )
        rows.append(("the serving stack: the same steps under Daphne and under uvicorn (httptools, uvloop)",
                     "measured side by side", "; ".join(cells), None, ""))
    actions = f.get("actions")
    if actions:
        ok = actions["overhead_p50"] <= 5
        rows.append(
            (
                "action overhead: hold/unhold via our API vs the PHLO simulator directly",
                "p50 difference ≤ 5 ms",
                f"ours p50 {actions['ours_p50']:.2f} ms, direct p50 {actions['direct_p50']:.2f} ms → "
                f"{actions['overhead_p50']:.2f} ms ({actions['n']} each)",
                ok,
                "" if ok else f"{actions['overhead_p50'] - 5:+.2f} ms",
            )
        )
    idle = f.get("idle")
    if idle:
        per = {n: idle.get(f"per_socket_{n}") for n in (1000, 5000)}
        ok = all(v is not None and v <= 50 * 1024 for v in per.values())
        rows.append(
            (
                "Daphne RSS per idle socket",
                "≤ 50 KiB",
                ", ".join(f"{v / 1024:.1f} KiB at {n:,}" for n, v in per.items() if v is not None),
                ok,
                "" if ok else "over at " + ", ".join(f"{n:,}" for n, v in per.items() if v and v > 50 * 1024),
            )
        )
    history = f.get("history") or {}
    if history.get("steps"):
        worst = max(step["p95"] for step in history["steps"])
        ok = worst < history["target_ms"]
        rows.append(
            (
                f"a filtered history page, {history['calls']:,} calls on PostgreSQL (bench/history.py)",
                f"< {history['target_ms']:.0f} ms",
                f"slowest p95 {worst:.1f} ms over {len(history['steps'])} kinds of page",
                ok,
                "" if ok else f"{worst - history['target_ms']:+.1f} ms over",
            )
        )
    reports = f.get("reports") or {}
    if reports.get("steps"):
        worst = max(step["p95"] for step in reports["steps"])
        ok = worst < reports["target_ms"]
        rows.append(
            (
                f"a month's report, {reports['calls']:,} calls of 1,000 agents on PostgreSQL (bench/reports.py)",
                f"p95 < {reports['target_ms']:.0f} ms",
                f"slowest p95 {worst:.1f} ms over {len(reports['steps'])} kinds of report (the month's first, "
                f"counting its quarters: {reports['cold_ms'] / 1000:.1f} s)",
                ok,
                "" if ok else f"{worst - reports['target_ms']:+.1f} ms over",
            )
        )
    return rows


def steps_table(report: dict) -> list[str]:
    lines = [
        "| phase | step | offered/s | achieved/s | sockets | p50 | p95 | p99 | max | HTTP p99 | lost | dup | non-200 "
        "| CPU ms/callback | server CPU | frames/callback | load gen CPU | load avg | holds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase, steps in report["steps"].items():
        for s in steps:
            lat = s["socket_latency"] if s["socket_latency"].get("n") else s["http"]
            lines.append(
                f"| {phase} | {s['label']} | {s['rate']:.0f} | {s['achieved_rate']:.0f} | {s['sockets']} | "
                f"{_ms(lat['p50'])} | {_ms(lat['p95'])} | {_ms(lat['p99'])} | {_ms(lat['max'])} | "
                f"{_ms(s['http']['p99'])} | {s['lost']} | {s['duplicated']} | {s['non_200']} | "
                f"{s['cpu_per_callback_ms']:.2f} | {s['cpu_utilisation']:.0%} | "
                f"{s['extra'].get('frames', 0) / max(1, s['callbacks']):.1f} | "
                f"{s['extra'].get('load_generator_cpu_seconds', 0) / max(1e-9, s['duration']):.0%} | "
                f"{s.get('load', '-')} | {'yes' if s['holds'] else 'no'} |"
            )
    return lines


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6), dpi=110)
    colours = {"daphne": "tab:blue", "redis": "tab:red", "uvicorn": "tab:green", "bare": "tab:gray"}
    styles = {"p50": ":", "p95": "--", "p99": "-"}
    for phase, colour in colours.items():
        points: dict[float, dict] = {}
        for s in report["steps"].get(phase, []):
            if s["sockets"] not in (0, 220) and phase != "bare":
                continue
            if s["label"].startswith(HOLDS_STEP):
                continue  # another mix than the ladder's: its own row in the targets
            lat = s["http"] if phase == "bare" else s["socket_latency"]
            if not lat.get("n"):
                continue
            points[s["rate"]] = lat  # the longest (latest) step at a rate wins
        if not points:
            continue
        rates = sorted(points)
        for q, style in styles.items():
            ax.plot(
                rates,
                [max(points[r][q], 0.1) for r in rates],
                style,
                color=colour,
                marker="o",
                markersize=3,
                label=f"{PHASE_TITLES[phase]} {q}",
            )
    ax.axhline(100, color="black", linewidth=0.8)
    ax.text(ax.get_xlim()[0], 105, " p99 limit for a sustained rate (100 ms)", fontsize=8)
    ax.axhline(50, color="black", linewidth=0.5, linestyle="--")
    ax.text(ax.get_xlim()[0], 52, " p99 target at 100/s (50 ms)", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("callbacks per second (open loop, signed, keep-alive)")
    ax.set_ylabel("latency, ms (callback sent → call.updated on each entitled socket)")
    machine = report["machine"]
    ax.set_title(
        f"One Daphne process, 200 agent + 20 supervisor sockets — {machine['nproc']} cores, "
        f"load {machine['load_average'][0]:.1f} at start",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def render(report: dict, *, command: str, docs: bool, out: Path) -> str:
    m = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        "# Benchmarks: live at scale on one Daphne process",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{command}` "
        f"({report['figures'].get('elapsed_seconds', 0) / 60:.1f} min).",
        "",
        f"- Machine: {m['nproc']} cores, {m['cpu_model']}, {m['ram_gib']} GiB RAM, Linux {m['kernel']}.",
        f"- Load average when the run started: {' / '.join(str(x) for x in m['load_average'])} (1 / 5 / 15 min); "
        f"at the end: {' / '.join(str(x) for x in report['figures'].get('load_after', []))}.",
        f"- Versions: {versions}.",
        "",
        "## Targets",
        "",
        "| target | goal | measured | verdict | distance |",
        "|---|---|---|---|---|",
    ]
    for name, goal, measured, ok, distance in targets(report):
        lines.append(f"| {name} | {goal} | {measured} | {_verdict(ok)} | {distance} |")
    lines += ["", "## Every step", "", *steps_table(report), ""]
    if report.get("notes"):
        lines += ["## Notes from the run", "", *[f"- {n}" for n in report["notes"]], ""]
    text = "\n".join(lines)
    (out / "benchmarks.md").write_text(text)
    plot(report, out / PLOT)
    if docs:
        previous = (DOCS / "benchmarks.md").read_text() if (DOCS / "benchmarks.md").exists() else ""
        marker = "<!-- analysis -->"
        analysis = previous[previous.index(marker) :] if marker in previous else ""
        (DOCS / "benchmarks.md").write_text(text + ("\n" + analysis if analysis else ""))
        plot(report, DOCS / PLOT)
    return text
