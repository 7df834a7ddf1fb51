"""The table, the AWS calls per invocation, the ratios to the floor and to Node.js, send-email (ses)
by number of approvers, and the targets (PASS/FAIL, or not judged in a smoke)."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .arms import CHANGE_ROW, CLICK_ROW, POST_ROW, SES_ROW, VOTE_ROW, Arm
from .measure import Result, ScaleRow, percentile
from .payloads import REPO

FLOOR = "bare lambda_runtime echo (floor)"
# Ours -> the tutorial's function doing the same job (for the change row, the same function: its
# process starts as send-email's does, but the tutorial has no equivalent of its warm work; the
# Slack rows: none, the tutorial has no Slack).
PAIRS: tuple[tuple[str, str | None], ...] = (
    ("send-email (Rust)", "send-email (tutorial, Node.js)"),
    (SES_ROW, "send-email (tutorial, Node.js)"),
    (CHANGE_ROW, "send-email (tutorial, Node.js)"),
    ("approval-callback GET (Rust)", "approval-callback (tutorial, Node.js)"),
    (POST_ROW, "approval-callback (tutorial, Node.js)"),
    (CLICK_ROW, None),
    (VOTE_ROW, None))
# Rows the tutorial has no warm equivalent of, and why: their warm figures are not judged against
# Node.js's but printed against the floor's (the change row is judged on its CPU per AWS call).
NO_NODE_WARM = {CHANGE_ROW: "it tells nobody how a request ended and puts no events",
                CLICK_ROW: "the tutorial has no Slack", VOTE_ROW: "the tutorial has no Slack"}
NO_NODE = "—"
TARGETS = {"node_x": 40, "floor_x": 2, "p50_ns": 1_000_000, "p99_ns": 3_000_000,
           "rss_kib": 16 * 1024, "zip_bytes": 3_000_000,
           # send-email's CPU per warm invocation above the floor's, per AWS call it makes; and, by
           # number of approvers, its CPU per approver more (one SendEmail each): the same budget.
           "cpu_per_call_ns": 150_000}
# By number of approvers: the middle row's CPU off the straight line through the first and last
# by at most this share; with each SendEmail a round trip away, the last row's warm p50 at most
# this share of linear (the first row's times the ratio of approvers; sends 10 at a time come to
# about a tenth).
CPU_OFF_LINE = 0.15
OF_LINEAR = 0.2
# The rows judged on their CPU per AWS call: send-email's (the callback's GET makes one call and
# renders a page, so its figure per call says little; printed, not judged).
CPU_PER_CALL_ROWS = ("send-email (Rust)", SES_ROW, CHANGE_ROW)
# The warm targets (1 ms p50, 3 ms p99) are milliseconds of the reference machine: v1's quiet run
# of 2026-11-26 (docs/bench.md, "v1 results"), where the tutorial's Node.js functions took these
# warm p50s. Milliseconds move from one machine to the next, so each run judges the warm figures
# as ratios to the Node.js function's warm p50 measured in the same run: 1 ms there is
# 1 / 2.43 = 0.41x Node.js's send-email p50.
REFERENCE_NODE_P50_NS = {"send-email (tutorial, Node.js)": 2_430_000,
                         "approval-callback (tutorial, Node.js)": 2_350_000}


def ms(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / 1e6:.2f}"


def ms3(ns: int | None) -> str:
    """Milliseconds to the microsecond: for figures judged against a budget of 0.15 ms."""
    return "-" if ns is None else f"{ns / 1e6:.3f}"


def mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.2f} MB" if n >= 1_000_000 else f"{n / 1e3:.1f} kB"


def machine(load_at_start: tuple[float, float, float]) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = f", {int(Path('/proc/meminfo').read_text().split()[1]) / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = "load average {:.2f} {:.2f} {:.2f} at the start".format(*load_at_start)
    return f"{os.cpu_count()} x {cpu}{mem}; Linux {platform.release()} {platform.machine()}; {load}"


def tool_version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "?"


def cpu_per_call_ns(r: Result, floor: Result | None) -> int | None:
    """The CPU of a warm invocation above the floor's, per AWS call it makes."""
    calls = sum(r.aws_calls.values())
    if floor is None or r.warm_cpu_ns is None or floor.warm_cpu_ns is None or not calls:
        return None
    return int((r.warm_cpu_ns - floor.warm_cpu_ns) / calls)


def render(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


def calls_text(calls: Mapping[str, float]) -> str:
    return ", ".join(f"{n:g} {op}" for op, n in sorted(calls.items())) or "none"


def table(arms: list[Arm], results: dict[str, Result]) -> list[str]:
    header = ["function", "init median", "init p90", "1st invoke", "warm p50", "warm p99",
              "after answer p50", "warm CPU", "peak RSS", "arm64 zip"]
    rows = []
    for arm in arms:
        r = results[arm.name]
        rows.append([arm.name, f"{ms(percentile(r.init_ns, 50))} ms", f"{ms(percentile(r.init_ns, 90))} ms",
                     f"{ms(r.first_invoke_ns)} ms", f"{ms(percentile(r.warm_ns, 50))} ms",
                     f"{ms(percentile(r.warm_ns, 99))} ms", f"{ms(percentile(r.after_answer_ns, 50))} ms",
                     f"{ms(r.warm_cpu_ns)} ms",
                     mib(r.peak_rss_kib), fmt_bytes(arm.zip_bytes) + arm.zip_note])
    out = render(header, rows)
    out += ["", "warm p50/p99: event handed out -> answer posted (what the caller waits for); after answer: "
            "answer posted -> the next GET /invocation/next (work done after answering, then the runtime's "
            "loop); warm CPU: the process's CPU per invocation, both parts.",
            "", "AWS calls per invocation (to the loopback stub; its time counts in warm latency or after the answer; "
            "for ours, the warm CPU above the floor's per call):"]
    floor = results.get(FLOOR)
    for a in arms:
        r = results[a.name]
        per_call = cpu_per_call_ns(r, floor) if a.lang == "rust" else None
        out.append(f"  {a.name}: {calls_text(r.aws_calls)}"
                   + (f" (and once per process, on its first invocation: {calls_text(a.per_process)})"
                      if a.per_process else "")
                   + (f"; the stub's own time in them: {ms(r.aws_stub_ns)} ms (mean)" if r.aws_calls else "")
                   + (f"; CPU per call above the floor: {ms3(per_call)} ms" if per_call is not None else ""))
    for a in arms:
        if a.name in NO_NODE_WARM:
            r = results[a.name]
            floor_p50, floor_cpu = (percentile(floor.warm_ns, 50), floor.warm_cpu_ns) if floor else (None, None)
            judged = ("judged on its CPU per AWS call" if a.name in CPU_PER_CALL_ROWS
                      else "judged on its init against the floor, its peak RSS and its zip")
            out += ["", f"{a.name}: no equivalent in the tutorial ({NO_NODE_WARM[a.name]}), so not judged against "
                    "Node.js; warm p50 "
                    f"{times_floor(percentile(r.warm_ns, 50), floor_p50)}, warm CPU "
                    f"{times_floor(r.warm_cpu_ns, floor_cpu)}; {judged}"]
    return out


def ratio(ns: int | None, of_ns: int | None, digits: int = 1) -> str:
    return f"{ns / of_ns:.{digits}f}x" if ns and of_ns else "-"


def ratios(arms: list[Arm], results: dict[str, Result]) -> list[str]:
    """Each of our rows against the floor (init, warm p50, warm CPU) and against the tutorial's
    function doing the same job (init: how many times faster; warm p50: its share), "—" where
    the tutorial has none."""
    floor = results.get(FLOOR)
    if floor is None:
        return []
    pairs = dict(PAIRS)
    header = ["function", "init / floor", "warm p50 / floor", "warm CPU / floor", "Node.js counterpart",
              "init: Node.js / ours", "warm p50: ours / Node.js"]
    rows = []
    for arm in arms:
        if arm.name not in pairs:
            continue
        r, theirs = results[arm.name], pairs[arm.name]
        node = results.get(theirs) if theirs else None
        p50 = percentile(r.warm_ns, 50)
        node_init = ratio(percentile(node.init_ns, 50), percentile(r.init_ns, 50)) if node else NO_NODE
        node_warm = (ratio(p50, percentile(node.warm_ns, 50), 2) if node and arm.name not in NO_NODE_WARM
                     else NO_NODE)
        rows.append([arm.name, ratio(percentile(r.init_ns, 50), percentile(floor.init_ns, 50)),
                     ratio(p50, percentile(floor.warm_ns, 50)), ratio(r.warm_cpu_ns, floor.warm_cpu_ns),
                     theirs or f"{NO_NODE} (the tutorial has no Slack)", node_init, node_warm])
    return ["Ratios: each of our rows against the floor (medians; warm CPU: means) and against the tutorial's "
            f"function doing the same job, {NO_NODE} where it has none:", "", *render(header, rows)]


def times_floor(ns: int | None, floor_ns: int | None) -> str:
    """A figure in ms, and as a multiple of the floor's same figure."""
    return f"{ms(ns)} ms" + (f" ({ns / floor_ns:.1f}x the floor's {ms(floor_ns)} ms)" if ns and floor_ns else "")


def scale_table(scale: list[ScaleRow], args: argparse.Namespace) -> list[str]:
    """send-email (ses) by number of approvers, and the slope per approver."""
    rt = f"{args.ses_round_trip_ms:g} ms"
    out = [f"{SES_ROW} by number of approvers: {args.scale_warm} warm invocations per row after the first, each on "
           "a fresh task; one SendEmail per approver, at most 10 on their way at once; first on loopback (every "
           f"answer at once, as above), then with each SendEmail answered {rt} late (a stand-in for SES's round "
           "trip; the other calls still answered at once):", ""]
    header = ["approvers", "AWS calls per invocation", "warm p50", "warm p99", "warm CPU", "stub's own time",
              f"SendEmail {rt} away: warm p50", "warm p99", "warm CPU"]
    rows = [[str(row.approvers), calls_text(row.loopback.aws_calls),
             *(f"{ms(v)} ms" for v in (percentile(row.loopback.warm_ns, 50), percentile(row.loopback.warm_ns, 99),
                                      row.loopback.warm_cpu_ns, row.loopback.aws_stub_ns,
                                      percentile(row.round_trip.warm_ns, 50), percentile(row.round_trip.warm_ns, 99),
                                      row.round_trip.warm_cpu_ns))]
            for row in scale]
    out += render(header, rows)
    if len(scale) >= 2:
        first, last = scale[0], scale[-1]
        more = last.approvers - first.approvers

        def slope(a: int | None, b: int | None) -> str:
            return "-" if a is None or b is None else f"{(b - a) / more / 1e6:+.3f} ms"

        def times(a: int | None, b: int | None) -> str:
            return "-" if not a or b is None else f"{b / a:.1f}x"

        loop = percentile(first.loopback.warm_ns, 50), percentile(last.loopback.warm_ns, 50)
        away = percentile(first.round_trip.warm_ns, 50), percentile(last.round_trip.warm_ns, 50)
        out += ["", f"per approver more (from {first.approvers} to {last.approvers}): CPU "
                f"{slope(first.loopback.warm_cpu_ns, last.loopback.warm_cpu_ns)}; warm p50 {slope(*loop)} on "
                f"loopback (one CPU: the sends' own work cannot overlap), {slope(*away)} with each SendEmail {rt} away",
                f"{last.approvers} approvers' warm p50 against {first.approvers}'s (linear: "
                f"{last.approvers / first.approvers:g}x): {times(*loop)} on loopback, {times(*away)} with each "
                f"SendEmail {rt} away"]
    return out


def scale_checks(scale: list[ScaleRow], args: argparse.Namespace) -> list[tuple[str, bool | None]]:
    if len(scale) < 2:
        return []
    first, last = scale[0], scale[-1]
    name = f"{SES_ROW} by approvers"
    out: list[tuple[str, bool | None]] = []
    a, b = first.loopback.warm_cpu_ns, last.loopback.warm_cpu_ns
    budget = TARGETS["cpu_per_call_ns"]
    if a is None or b is None:
        return [(f"{name}: CPU not measured", None)]
    slope = (b - a) / (last.approvers - first.approvers)
    out.append((f"{name}: CPU {slope / 1e6:+.3f} ms per approver more (target <= {budget / 1e6:g} ms, "
                "the budget of one call)", slope <= budget))
    for row in scale[1:-1]:
        cpu = row.loopback.warm_cpu_ns
        on_line = a + slope * (row.approvers - first.approvers)
        if cpu is None or on_line <= 0:
            continue  # not measured (a profiling wrapper has no CPU of the function's own)
        off = cpu / on_line - 1
        out.append((f"{name}: CPU linear: {row.approvers} approvers' {ms(cpu)} ms is {off:+.1%} off the straight "
                    f"line through {first.approvers} and {last.approvers} ({on_line / 1e6:.2f} ms; target within "
                    f"{CPU_OFF_LINE:.0%})", abs(off) <= CPU_OFF_LINE))
    t1, tn = percentile(first.round_trip.warm_ns, 50), percentile(last.round_trip.warm_ns, 50)
    linear = last.approvers / first.approvers
    if t1 and tn:
        out.append((f"{name}: with each SendEmail {args.ses_round_trip_ms:g} ms away, {last.approvers} approvers' "
                    f"warm p50 {ms(tn)} ms is {tn / t1:.1f}x {first.approvers}'s {ms(t1)} ms (target <= "
                    f"{OF_LINEAR * linear:g}x, 1/{1 / OF_LINEAR:g} of linear; 10 sends at a time: "
                    f"about {linear / 10:g}x)", tn <= OF_LINEAR * linear * t1))
    return out


def checks(arms: list[Arm], results: dict[str, Result]) -> list[tuple[str, bool | None]]:
    by_name = {a.name: (a, results[a.name]) for a in arms}
    if FLOOR not in by_name:
        return []
    floor_init = percentile(by_name[FLOOR][1].init_ns, 50)
    out: list[tuple[str, bool | None]] = []
    for ours, theirs in PAIRS:
        if ours not in by_name or (theirs is not None and theirs not in by_name):
            continue
        arm, r = by_name[ours]
        init = percentile(r.init_ns, 50)
        node_init = percentile(by_name[theirs][1].init_ns, 50) if theirs else None
        if init and floor_init and (node_init or theirs is None):
            if node_init:
                out.append((f"{ours}: init {node_init / init:.1f}x faster than Node.js "
                            f"(target >= {TARGETS['node_x']}x)", node_init >= TARGETS["node_x"] * init))
            out.append((f"{ours}: init {init / floor_init:.2f}x the bare binary (target <= {TARGETS['floor_x']}x)",
                        init <= TARGETS["floor_x"] * floor_init))
        else:
            out.append((f"{ours}: init not measured (--cold 0)", None))
        if theirs is not None and ours not in NO_NODE_WARM:
            node_p50 = percentile(by_name[theirs][1].warm_ns, 50)
            out += [warm_check(ours, "p50", percentile(r.warm_ns, 50), TARGETS["p50_ns"], theirs, node_p50),
                    warm_check(ours, "p99", percentile(r.warm_ns, 99), TARGETS["p99_ns"], theirs, node_p50)]
        out += [(f"{ours}: peak RSS {mib(r.peak_rss_kib)} (target <= 16 MiB)",
                 None if r.peak_rss_kib is None else r.peak_rss_kib <= TARGETS["rss_kib"])]
        if ours in CPU_PER_CALL_ROWS:
            per_call = cpu_per_call_ns(r, by_name[FLOOR][1])
            calls = sum(r.aws_calls.values())
            out.append((f"{ours}: warm CPU {ms3(r.warm_cpu_ns)} ms, {ms3(per_call)} ms per AWS call above the floor's "
                        f"{ms3(by_name[FLOOR][1].warm_cpu_ns)} ms ({calls:g} calls; target <= "
                        f"{TARGETS['cpu_per_call_ns'] / 1e6:g} ms)",
                        None if per_call is None else per_call <= TARGETS["cpu_per_call_ns"]))
        if arm.zip_bytes is not None:
            out.append((f"{ours}: arm64 zip {fmt_bytes(arm.zip_bytes)} (target <= 3 MB)",
                        arm.zip_bytes <= TARGETS["zip_bytes"]))
        else:
            out.append((f"{ours}: arm64 zip not built (target <= 3 MB)", None))
    return out


def warm_check(ours: str, figure: str, ns: int | None, target_ns: int, theirs: str,
               node_p50_ns: int | None) -> tuple[str, bool | None]:
    """A warm figure against its target, as a ratio to the Node.js p50 of this run."""
    reference = REFERENCE_NODE_P50_NS[theirs]
    target_x = target_ns / reference
    what = (f"{ours}: warm {figure} {ms(ns)} ms (target <= {target_ns / 1e6:g} ms on the reference machine, "
            f"where Node.js's p50 was {ms(reference)} ms: <= {target_x:.2f}x Node.js's p50")
    if ns is None or not node_p50_ns:
        return what + ")", None
    return (what + f"; here {ns / node_p50_ns:.2f}x its {ms(node_p50_ns)} ms)",
            ns <= target_x * node_p50_ns)


def report(arms: list[Arm], results: dict[str, Result], args: argparse.Namespace,
           scale: list[ScaleRow]) -> tuple[str, bool]:
    dirty = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", "HEAD"]).returncode
    out = [
        f"machine: {machine(args.load_at_start)}",
        f"tools: {tool_version([args.node, '--version']).replace('v', 'node ', 1)}; "
        f"{tool_version(['rustc', '--version'])}; python {platform.python_version()}",
        f"tree: {tool_version(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'])}"
        + (" + uncommitted changes" if dirty else ""),
        f"runs: init over {args.cold} cold starts per function (interleaved, each round in its own order), "
        f"warm over {args.warm} invocations "
        "after the first, each on a fresh task (send-email), a fresh pending request (callback, its Slack rows "
        "included) or the stream's change of a request freshly decided (send-email (change: decided)); "
        "stub Runtime API + AWS endpoint on loopback; "
        + ("spread over all CPUs (--no-pin)" if args.no_pin else f"stub and functions pinned to CPU {args.cpu}"),
        *([f"extra environment (experiment): {' '.join(args.extra_env)}"] if args.extra_env else []),
        "", *table(arms, results), "",
        *([*ratios(arms, results), ""] if FLOOR in results else []),
        *([*scale_table(scale, args), ""] if scale else []),
    ]
    judged = checks(arms, results) + scale_checks(scale, args)
    for text, ok in judged:
        verdict = "PASS" if ok else "FAIL" if ok is not None else "SKIP"
        out.append(f"  [smoke] {text}" if args.smoke else f"  {verdict}  {text}")
    failed = sum(ok is False for _, ok in judged)
    skipped = sum(ok is None for _, ok in judged)
    if not judged:
        out.append("partial run (--only): targets not checked")
    elif args.smoke:
        out.append("smoke run (dev builds, few samples): every function answered correctly and made its AWS calls; "
                   "figures not representative; targets not checked")
    elif failed:
        out.append(f"targets: NOT all met ({failed} missed" + (f", {skipped} not measured)" if skipped else ")"))
    elif skipped:
        out.append(f"targets: every measured one met; {skipped} not measured in this run")
    else:
        out.append("targets: all met")
    return "\n".join(out), bool(judged) and not failed and not skipped
