"""scripts/demo: the human-approval workflow end to end on this machine, no AWS account.

Starts the local stack (local/stack.py), starts one execution with the tutorial's input, prints
the approval email as the approver gets it, then waits until someone decides: you, by opening a
link in your browser, or this script with --auto-approve / --auto-reject. Prints the end state
and the decision output, and stops everything it started (also on Ctrl-C and on failure).

Exit codes:
  0    the execution ended with a decision (approved or rejected; with --auto-*, the one asked for)
  1    the local stack could not be started or did not behave (the message says why)
  2    bad command line
  3    the execution ended without the expected decision (approval timed out, send-email failed...)
  130  interrupted (Ctrl-C, SIGTERM)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stack as local_stack  # noqa: E402

EXIT_DECIDED = 0
EXIT_STACK_ERROR = 1
EXIT_NOT_DECIDED = 3
EXIT_INTERRUPTED = 130


def progress(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    defaults = local_stack.StackConfig()
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Run the human-approval workflow locally: moto (Step Functions, SNS, SQS) + cargo lambda watch.",
    )
    auto = parser.add_mutually_exclusive_group()
    auto.add_argument("--auto-approve", action="store_true", help="approve through the confirmation page instead of waiting for you")
    auto.add_argument("--auto-reject", action="store_true", help="reject through the confirmation page instead of waiting for you")
    parser.add_argument("--moto-port", type=int, default=defaults.moto_port, help="moto server port (default %(default)s)")
    parser.add_argument("--lambda-port", type=int, default=defaults.lambda_port,
                        help="cargo lambda watch port; the email's links point here (default %(default)s)")
    parser.add_argument("--page-port", type=int, default=defaults.page_port,
                        help="port of the local 'decision recorded' page the callback redirects to (default %(default)s)")
    parser.add_argument("--timeout-seconds", type=int, default=defaults.approval_timeout_seconds,
                        help="approval timeout of the state machine's task, ApprovalTimeoutSeconds (default %(default)s)")
    parser.add_argument("--approver-email", default=defaults.approver_email, help="APPROVER_EMAIL (default %(default)s)")
    parser.add_argument("--link-mode", choices=("confirm", "one-click"), default=defaults.link_mode,
                        help="LINK_MODE of approval-callback (default %(default)s)")
    parser.add_argument("--comment", default="Auto-decided by scripts/demo.", help="the comment --auto-* types into the page")
    args = parser.parse_args(argv)
    if args.timeout_seconds < 1:
        parser.error("--timeout-seconds must be at least 1")
    return args


def print_email(email: local_stack.Email, to: str) -> None:
    rule = "-" * 78
    print(rule)
    print(f"To: {to}")
    print(f"Subject: {email.subject}")
    print()
    print(email.body.rstrip())
    print(rule, flush=True)


def decide_automatically(args: argparse.Namespace, email: local_stack.Email) -> None:
    link = email.approve_url if args.auto_approve else email.reject_url
    verb = "approve" if args.auto_approve else "reject"
    if args.link_mode == "one-click":
        # The seed's behaviour: the GET itself decides and redirects.
        answer = local_stack.http_request("GET", link)
        progress(f"auto-{verb}: GET the {verb} link -> {answer.status} {answer.headers.get('location', '')}")
        if answer.status != 302:
            raise local_stack.StackError(f"one-click {verb} link answered {answer.status}, expected 302:\n{answer.body[:500]}")
        return
    decision = local_stack.decide_via_confirmation_page(link, args.comment)
    progress(f"auto-{verb}: GET the {verb} link -> {decision.page.status} (confirmation page, nothing decided yet)")
    if decision.page.status != 200:
        raise local_stack.StackError(f"the {verb} link answered {decision.page.status}, expected 200:\n{decision.page.body[:500]}")
    progress(f"auto-{verb}: POST the form with comment {args.comment!r} -> {decision.answer.status} "
             f"{decision.answer.headers.get('location', '')}")
    if decision.answer.status != 303:
        raise local_stack.StackError(f"the form POST answered {decision.answer.status}, expected 303:\n{decision.answer.body[:500]}")


def run(args: argparse.Namespace) -> int:
    config = local_stack.StackConfig(
        moto_port=args.moto_port,
        lambda_port=args.lambda_port,
        page_port=args.page_port,
        approver_email=args.approver_email,
        link_mode=args.link_mode,
        approval_timeout_seconds=args.timeout_seconds,
        work_dir=local_stack.REPO_ROOT / ".local-stack" / "demo",
    )
    started = time.monotonic()
    with local_stack.LocalStack(config, progress=progress) as stack:
        progress(f"local stack ready in {time.monotonic() - started:.0f}s")
        execution_arn = stack.start_execution()
        execution_name = execution_arn.rsplit(":", 1)[-1]
        progress(f"started execution {execution_name} with input {json.dumps(local_stack.TUTORIAL_INPUT)}")
        progress("waiting for the approval email in the local inbox (SNS topic -> SQS queue)")
        email = stack.wait_for_email(execution_name)
        print()
        print_email(email, to=config.approver_email)
        print()
        if args.auto_approve or args.auto_reject:
            decide_automatically(args, email)
        else:
            print(f"Open the Approve or Reject link in your browser. The approval times out after "
                  f"{args.timeout_seconds}s; Ctrl-C stops everything.", flush=True)
        result = stack.wait_for_end(execution_arn, timeout=None)
        end_state = stack.last_state_entered(execution_arn)
        print()
        print(f"Execution {execution_name}: {result['status']}, ended in {end_state}")
        if result.get("output"):
            print("Output:")
            print(json.dumps(json.loads(result["output"]), indent=2))
        if result.get("error") or result.get("cause"):
            print(f"Error: {result.get('error')}\nCause: {result.get('cause')}")
        progress("stopping the local stack")
        if result["status"] != "SUCCEEDED":
            return EXIT_NOT_DECIDED
        wanted = {"ApprovedPassState"} if args.auto_approve else {"RejectedPassState"} if args.auto_reject else {
            "ApprovedPassState", "RejectedPassState"}
        return EXIT_DECIDED if end_state in wanted else EXIT_NOT_DECIDED


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # moto logs every failed state (a timeout, a failed send-email) with its whole parse tree, and
    # werkzeug every request: the demo shows the outcome itself.
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("moto", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    local_stack.install_signal_teardown()
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted: the local stack has been stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except local_stack.StackError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_STACK_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
