"""Side-by-side benchmark of our Rust functions and the tutorial's Node.js functions.

Plays Lambda for each function: a stub Runtime API (the `/2018-06-01/runtime/...` routes) and, on
the same loopback port, a stub of the AWS calls the functions make (DynamoDB PutItem/GetItem, Step
Functions GetExecutionHistory/SendTaskSuccess, SNS Publish, SESv2 SendEmail, EventBridge PutEvents,
Secrets Manager GetSecretValue), reached through AWS_ENDPOINT_URL, and of Slack's Web API
(views.open, under /api: SLACK_API_URL). The stub and the functions run pinned to one CPU unless
--no-pin. Then, per function:

  init         process spawn -> its first `GET .../invocation/next` (both stamped here, on the
               monotonic clock), over --cold fresh processes, the functions interleaved, each
               round in its own order; median and p90.
  1st invoke   the first invocation of a fresh process (connection set-up, lazy init).
  warm         /next response handed out -> its /response POST received, over --warm invocations
               after the first; each one on a fresh task (send-email), a fresh pending request
               (approval-callback GET / POST, and its Slack route: an approver's signed click,
               the vote modal's signed submission) or the stream's change of a request freshly
               decided (send-email (change: decided)), making the real SDK calls to the loopback
               stub.
  after answer its /response POST received -> its next `GET .../invocation/next`: what it does
               after answering (the callback's delivered mark and decided emails), then the
               runtime's loop; median.
  warm CPU     the function's own CPU time per warm invocation (mean, from schedstat), both parts.
  peak RSS     VmHWM of the process after all the warm invocations.
  zip          the arm64 deployment zip, when given with --zip.

Then each of our rows as ratios: to the floor (init, warm p50, warm CPU) and to the tutorial's
function doing the same job ("—" for the Slack rows: the tutorial has no Slack).

And send-email through SES by number of approvers (1, 10, 50; --scale-warm invocations each):
warm latency and CPU on loopback, then again with each SendEmail answered --ses-round-trip-ms
late (a stand-in for SES's round trip: the sends go 10 at a time); the slope per approver.

Only the standard library: it runs under any python3 >= 3.9. Invoked by scripts/bench; the parts
are in bench/harness/ (one job each). Details: docs/bench.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import tempfile
from pathlib import Path
from typing import Callable

from harness import arms as arms_mod
from harness.measure import Result, ScaleRow, cold_start, decider, percentile, seeder, warm_run
from harness.payloads import Links, Payloads
from harness.report import ms, report
from harness.session import BenchError
from harness.stub import Stub


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", type=Path, required=True, help="folder with send-email, approval-callback")
    parser.add_argument("--floor-bin", type=Path, required=True, help="the bare lambda_runtime echo binary")
    parser.add_argument("--node", default="node")
    parser.add_argument("--cold", type=int, default=30, help="cold starts per function (>= 20 for the report)")
    parser.add_argument("--warm", type=int, default=2000, help="warm invocations per function")
    parser.add_argument("--scale-warm", type=int, default=500,
                        help="warm invocations of send-email (ses) per number of approvers (0: no such table)")
    parser.add_argument("--ses-round-trip-ms", type=float, default=10.0,
                        help="how late the stub answers each SendEmail in the by-approvers table's second runs")
    parser.add_argument("--zip", action="append", default=[], metavar="NAME=PATH",
                        help="arm64 zip of a Rust function, e.g. send-email=target/lambda/send-email/bootstrap.zip")
    parser.add_argument("--smoke", action="store_true", help="report without judging the targets")
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument("--extra-env", action="append", default=[], metavar="NAME=VALUE",
                        help="add to every function's environment (for experiments; the report says so)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only the functions whose name starts with NAME (experiments)")
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)),
                        help="the one CPU the stub and every function run on (default: the last one)")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the scheduler spread the stub and the functions over all CPUs")
    return parser.parse_args()


def prepare_process(args: argparse.Namespace) -> None:
    # The tutorial's Node.js send-email opens a new connection per invocation and leaves it open:
    # thousands of descriptors in one warm run, past the usual soft limit of 1,024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        cap = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, cap), hard))
    except (ValueError, OSError):
        pass  # keep the soft limit; the stub reports running out instead of hanging
    # One CPU for the stub and the functions (children inherit the affinity). Lambda runs a
    # 128 MB function on a fraction of one vCPU, next to its Runtime API; and on this 2-vCPU VM a
    # wake-up across CPUs costs ~40 us (the floor's warm p50: 0.04 ms pinned, 0.13-0.15 ms
    # spread), so spread runs move with where the scheduler happens to place the processes.
    if not args.no_pin:
        os.sched_setaffinity(0, {args.cpu})
    # A collection pause in the stub would be charged to the function under test.
    gc.disable()
    sys.setswitchinterval(0.0005)


def main() -> int:
    args = parse_args()
    args.load_at_start = os.getloadavg()
    prepare_process(args)
    stub = Stub()
    fresh = Payloads(stub.aws.register).fresh
    with tempfile.TemporaryDirectory(prefix="approval-gate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        # What the callback rows and the change row are given: made by our own functions, in
        # unmeasured runs, once the arms exist.
        seed_holder: dict[str, Callable[[int], list[Links]]] = {}
        decide_holder: dict[str, Callable[[int], list[str]]] = {}
        arms = arms_mod.build(args, stub.address, home, fresh, lambda n: seed_holder["seed"](n),
                              lambda n: decide_holder["decided"](n), stub.aws)
        # send-email (ses) by number of approvers: (n, its arm)
        scale_arms = [(n, arms_mod.send_email_ses(args, stub.address, home, fresh, n,
                                                  f"{arms_mod.SES_ROW}, {n} approver{'s' if n > 1 else ''}"))
                      for n in arms_mod.SCALE_APPROVERS] if args.scale_warm else []
        for arm in arms + [a for _, a in scale_arms]:
            arm.env.update(dict(spec.split("=", 1) for spec in args.extra_env))
        logs = {arm.name: tmp / f"{arm.argv[-1].rsplit('/', 1)[-1]}-{i}.stderr" for i, arm in enumerate(arms)}
        by_name = {arm.name: arm for arm in arms}
        seed_holder["seed"] = seeder(stub, arms[0], tmp / "send-email-seed.stderr")
        # The change row's requests: opened by send-email through SES (as that row tells them),
        # then decided by the callback's POST.
        seed_ses = seeder(stub, by_name[arms_mod.SES_ROW], tmp / "send-email-ses-seed.stderr")
        decide_holder["decided"] = decider(stub, seed_ses, by_name[arms_mod.POST_ROW],
                                           tmp / "approval-callback-decide.stderr")
        if args.only:
            arms = [a for a in arms if any(a.name.startswith(o) for o in args.only)]
            scale_arms = [(n, a) for n, a in scale_arms if any(a.name.startswith(o) for o in args.only)]
        for arm in arms:
            if not Path(arm.argv[-1]).exists() and not Path(arm.argv[0]).exists():
                raise BenchError(f"{arm.name}: {arm.argv} not found")
        results = {arm.name: Result() for arm in arms}

        print(f"warm: {args.warm} invocations per function", file=sys.stderr, flush=True)
        for arm in arms:
            warm_run(stub, arm, args.warm, logs[arm.name], results[arm.name])
            print(f"  {arm.name}: p50 {ms(percentile(results[arm.name].warm_ns, 50))} ms",
                  file=sys.stderr, flush=True)
        scale: list[ScaleRow] = []
        if scale_arms:
            print(f"{arms_mod.SES_ROW} by approvers: {args.scale_warm} invocations each, on loopback, then with "
                  f"each SendEmail answered {args.ses_round_trip_ms:g} ms late", file=sys.stderr, flush=True)
        for n, arm in scale_arms:
            row = ScaleRow(n, Result(), Result())
            log = tmp / f"send-email-ses-{n}.stderr"
            for result, delay_ms in ((row.loopback, 0.0), (row.round_trip, args.ses_round_trip_ms)):
                stub.aws.ses_delay_ns = int(delay_ms * 1e6)
                try:
                    warm_run(stub, arm, args.scale_warm, log, result)
                finally:
                    stub.aws.ses_delay_ns = 0
            print(f"  {arm.name}: p50 {ms(percentile(row.loopback.warm_ns, 50))} ms, "
                  f"{ms(percentile(row.round_trip.warm_ns, 50))} ms with the round trip", file=sys.stderr, flush=True)
            scale.append(row)
        print(f"init: {args.cold} cold starts per function, interleaved, each round in its own order",
              file=sys.stderr, flush=True)
        for arm in arms if args.cold else ():  # one unmeasured start each: page cache, like every start after it
            cold_start(stub, arm, logs[arm.name])
        # Each round in its own order (the same orders every run): in one fixed order the first
        # arm always started right after Node.js's, and the same binary measured 0.4 ms slower
        # as the callback's GET (second) than as its POST (third).
        orders = random.Random(0)
        for _ in range(args.cold):
            for arm in orders.sample(arms, len(arms)):
                results[arm.name].init_ns.append(cold_start(stub, arm, logs[arm.name]))
        text, _ = report(arms, results, args, scale)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as err:
        print(f"bench failed: {err}", file=sys.stderr)
        sys.exit(1)
