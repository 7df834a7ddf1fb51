"""scripts/demo: the human-approval workflow end to end on this machine, no AWS account.

Starts the local stack (local/localstack/), starts one execution with the tutorial's input, prints
the approval email as each approver gets it, then waits until someone decides: you, by opening a
link in your browser, or this script with --auto-approve / --auto-reject (as the first approver).

--email sns (the default) mails through the SNS topic, one filtered SQS inbox per approver;
--email ses through SESv2 SendEmail from --sender (verified in moto's SES at start, no topic): the
text part is printed as SNS mail is, the HTML part saved beside the logs to open in a browser.

--slack dm|channel also asks in Slack (SLACK_DELIVERY; a local emulator of Slack's Web API, the
app's secret in moto's Secrets Manager): dm, a direct message to each approver; channel, one
message in the stack's channel. The request's Slack messages are printed as text (header, facts,
the workflow's words, the buttons as [Approve] [Reject]); with --auto-approve / --auto-reject the
first approver votes in Slack instead of by link (a click on their DM, or on the channel's message
as their Slack user; the modal views.open opened is printed; it is submitted with a comment), and
the messages are printed again once updated. --email still picks the email channel.

With --required N the execution asks through an `Approval` block (CONTRACT.md) with
RequiredApprovals N, on a "team" state machine whose task forwards the input's `Approval` (as a
caller's state machine does); --auto-approve then approves as the first N approvers, one after
the other, and --auto-reject rejects as the first one (a veto). Approvers: --approvers a,b,c
and/or --approver a --approver b (with --slack: the first one votes in Slack, the others by link).
Prints the "decided" email(s), the end state, the decision output, the request's record and the
gate's events (EventBridge: Approval Requested, Approval Vote Recorded, Approval Decided, ...; one
line each, as a rule on the bus delivered them), and stops everything it started (also on Ctrl-C
and on failure).

Exit codes:
  0    the execution ended with a decision (approved or rejected; with --auto-*, the one asked for)
  1    the local stack could not be started or did not behave (the message says why)
  2    bad command line
  3    the execution ended without the expected decision (approval timed out, send-email failed...)
  130  interrupted (Ctrl-C, SIGTERM)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import localstack as local_stack  # noqa: E402
from localstack import slack_demo  # noqa: E402

EXIT_DECIDED = 0
EXIT_STACK_ERROR = 1
EXIT_NOT_DECIDED = 3
EXIT_INTERRUPTED = 130
DEFAULT_APPROVER = "approver@example.com"
TEAM_STATE_MACHINE = "DemoTeamApprovalStateMachine"


def progress(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    defaults = local_stack.StackConfig()
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Run the approval gate locally: moto (Step Functions, SNS, SQS, SES, DynamoDB) + "
                    "cargo lambda watch.",
    )
    auto = parser.add_mutually_exclusive_group()
    auto.add_argument("--auto-approve", action="store_true",
                      help="approve through the confirmation page instead of waiting for you")
    auto.add_argument("--auto-reject", action="store_true",
                      help="reject through the confirmation page instead of waiting for you")
    parser.add_argument("--moto-port", type=int, default=defaults.moto_port,
                        help="moto server port (default %(default)s)")
    parser.add_argument("--lambda-port", type=int, default=defaults.lambda_port,
                        help="the functions' port (in front of cargo lambda watch, which listens on a free port); "
                             "the email's links point here (default %(default)s)")
    parser.add_argument("--page-port", type=int, default=defaults.page_port,
                        help="port of the local 'decision recorded' page the callback redirects to "
                             "(default %(default)s)")
    parser.add_argument("--timeout-seconds", type=int, default=defaults.approval_timeout_seconds,
                        help="approval timeout of the state machine's task, ApprovalTimeoutSeconds "
                             "(default %(default)s)")
    parser.add_argument("--approver", action="append", dest="approver_list", default=[], metavar="ADDRESS",
                        help=f"an approver of the stack (APPROVERS); repeat for more (default: {DEFAULT_APPROVER})")
    parser.add_argument("--approvers", action="append", dest="approver_csv", default=[], metavar="A,B,...",
                        help="approvers of the stack, comma-separated (with --approver: all of them, in order)")
    parser.add_argument("--required", type=int, metavar="N",
                        help="ask through an Approval block with RequiredApprovals N (1..number of approvers); "
                             "--auto-approve then approves as the first N approvers")
    parser.add_argument("--link-mode", choices=("confirm", "one-click"), default=defaults.link_mode,
                        help="LINK_MODE of approval-callback (default %(default)s)")
    parser.add_argument("--email", choices=("sns", "ses"), default=defaults.email_delivery,
                        help="EMAIL_DELIVERY: the SNS topic with one filtered SQS inbox per approver, or SESv2 "
                             "SendEmail from --sender (default %(default)s)")
    parser.add_argument("--sender", default=defaults.sender_address, metavar="ADDRESS",
                        help="SENDER_ADDRESS with --email ses, verified in moto's SES at start (default %(default)s)")
    parser.add_argument("--slack", choices=("none", "dm", "channel"), default=defaults.slack_delivery,
                        help="SLACK_DELIVERY: also ask in Slack (an emulator of its Web API), by a DM to each "
                             "approver or one message in a channel; --auto-* then votes in Slack as the first "
                             "approver (default %(default)s)")
    parser.add_argument("--remind-after", type=int, default=0, metavar="SECONDS",
                        help="REMINDER_AFTER_SECONDS: every request gets a reminder this long after it opens; "
                             "the demo waits for it (and prints it) before deciding (default: no reminder)")
    parser.add_argument("--comment", default="Auto-decided by scripts/demo.",
                        help="the comment --auto-* types into the page")
    args = parser.parse_args(argv)
    if args.timeout_seconds < 1:
        parser.error("--timeout-seconds must be at least 1")
    if not 0 <= args.remind_after < args.timeout_seconds:
        parser.error("--remind-after must be 0 (none) or less than --timeout-seconds")
    approvers: list[str] = []
    for address in [*args.approver_list, *(a for csv in args.approver_csv for a in csv.split(","))]:
        address = address.strip()
        if not address:
            parser.error("--approvers: an empty address (a stray comma?)")
        if address in approvers:
            parser.error(f"approver {address} given twice")
        approvers.append(address)
    args.approvers = approvers or [DEFAULT_APPROVER]
    if args.required is not None and not 1 <= args.required <= len(args.approvers):
        parser.error(f"--required must be between 1 and the number of approvers ({len(args.approvers)})")
    return args


def print_email(email: local_stack.Email) -> None:
    rule = "-" * 78
    print(rule)
    if email.sender:  # SES: From is the stack's sender (SNS mail comes from AWS Notifications)
        print(f"From: {email.sender}")
    print(f"To: {email.approver}")
    print(f"Subject: {email.subject}")
    print()
    print(email.body, end="" if email.body.endswith("\n") else "\n")  # the whole text, as received
    print(rule, flush=True)


def save_html_parts(emails: list[local_stack.Email], work_dir: Path) -> None:
    """SES mail's HTML parts (buttons for the links), one file per approver, to open in a browser."""
    for n, email in enumerate(emails, start=1):
        if email.html is not None:
            path = work_dir / f"email-{n}-html-part.html"
            path.write_text(email.html)
            progress(f"the HTML part of {email.approver}'s email (Approve and Reject buttons): {path}")


def decide_automatically(args: argparse.Namespace, emails: list[local_stack.Email], skip: int = 0) -> None:
    """--auto-approve: the first N approvers approve, in turn (each vote before the last answers
    200 "recorded", the last one 303); --auto-reject: the first approver rejects (303). The first
    `skip` of them have voted already (in Slack)."""
    voters = (emails[:args.required or 1] if args.auto_approve else emails[:1])[skip:]
    verb = "approve" if args.auto_approve else "reject"
    for n, email in enumerate(voters, start=1):
        link = email.approve_url if args.auto_approve else email.reject_url
        wanted = 303 if n == len(voters) else 200  # only the deciding vote redirects
        who = f"auto-{verb} as {email.approver} ({n} of {len(voters)})"
        if args.link_mode == "one-click":
            # The seed's behaviour: the GET itself votes (and redirects when it decides).
            answer = local_stack.http_request("GET", link)
            progress(f"{who}: GET the {verb} link -> {answer.status} {answer.headers.get('location', '')}")
            if answer.status != wanted:
                raise local_stack.StackError(f"one-click {verb} link answered {answer.status}, expected {wanted}:\n"
                                             f"{answer.body[:500]}")
            continue
        decision = local_stack.decide_via_confirmation_page(link, args.comment)
        progress(f"{who}: GET the {verb} link -> {decision.page.status} (confirmation page, nothing decided yet)")
        if decision.page.status != 200:
            raise local_stack.StackError(f"the {verb} link answered {decision.page.status}, expected 200:\n"
                                         f"{decision.page.body[:500]}")
        progress(f"{who}: POST the form with comment {args.comment!r} -> {decision.answer.status} "
                 f"{decision.answer.headers.get('location', '') or '(vote recorded, waiting for more)'}")
        if decision.answer.status != wanted:
            raise local_stack.StackError(f"the form POST answered {decision.answer.status}, expected {wanted}:\n"
                                         f"{decision.answer.body[:500]}")


def print_gate_events(stack: local_stack.LocalStack, execution_arn: str, request_id: str,
                      result: dict) -> None:
    """The request's events as a subscriber of the bus got them, one line each. The last one
    (the decision, or the expiry) follows the end of the execution by a moment: waited for."""
    ending = ("Approval Decided" if result["status"] == "SUCCEEDED"
              else "Approval Expired" if result.get("error") == "Approval.TimedOut" else None)
    try:
        if ending:
            stack.gate_events.wait_for(ending, request_id, timeout=10)
        stack.execution_watcher.wait_reported(execution_arn, timeout=10)
        stack.stream_poller.wait_idle()
    except local_stack.StackError as err:
        progress(f"the gate's events may be incomplete: {err}")
    events = stack.gate_events.of_request(request_id)
    print(f"Gate events of request {request_id} (EventBridge, source approval-gate; a rule on the default bus "
          f"delivered them to a local SQS queue):")
    for event in events:
        print(f"  {event.summary()}")
    if not events:
        print("  (none)")


def execution_input(args: argparse.Namespace) -> dict:
    if args.required is None:
        return dict(local_stack.TUTORIAL_INPUT)
    return {**local_stack.TUTORIAL_INPUT, "Approval": {
        "Subject": f"Demo: {args.required} of {len(args.approvers)} approvals needed",
        "Summary": f"scripts/demo asks {len(args.approvers)} approvers; {args.required} approval(s) decide, "
                   "the first rejection rejects.",
        "Details": local_stack.TUTORIAL_INPUT,
        "RequiredApprovals": args.required,
    }}


def run(args: argparse.Namespace) -> int:
    team = (local_stack.StateMachineSpec(TEAM_STATE_MACHINE, args.timeout_seconds, approval_from_input=True)
            if args.required is not None else None)
    config = local_stack.StackConfig(
        moto_port=args.moto_port,
        lambda_port=args.lambda_port,
        page_port=args.page_port,
        approvers=tuple(args.approvers),
        link_mode=args.link_mode,
        email_delivery=args.email,
        sender_address=args.sender,
        approval_timeout_seconds=args.timeout_seconds,
        default_expiry_seconds=args.timeout_seconds,
        work_dir=local_stack.REPO_ROOT / ".local-stack" / "demo",
        # --required: a caller's state machine (trusted) whose task forwards the input's Approval block.
        extra_state_machines=(team,) if team else (),
        reminder_after_seconds=args.remind_after,
        slack_delivery=args.slack,
    )
    started = time.monotonic()
    with local_stack.LocalStack(config, progress=progress) as stack:
        progress(f"local stack ready in {time.monotonic() - started:.0f}s")
        given = execution_input(args)
        execution_arn = stack.start_execution(state_machine_arn=team.arn if team else None, execution_input=given)
        execution_name = execution_arn.rsplit(":", 1)[-1]
        machine = team.name if team else "the stack's own state machine"
        progress(f"started execution {execution_name} of {machine} with input {json.dumps(given)}")
        route = ("SNS topic -> one filtered SQS queue per approver" if args.email == "sns"
                 else f"SES SendEmail from {args.sender}, one per approver")
        progress(f"waiting for the approval emails in the local inboxes ({route}: {', '.join(stack.approvers)})")
        emails = [stack.wait_for_email(execution_name, approver) for approver in stack.approvers]
        email = emails[0]
        for each in emails:
            print()
            print_email(each)
        print()
        save_html_parts(emails, config.work_dir)
        if args.remind_after:
            progress(f"waiting for the reminder, {args.remind_after}s after the request opened (the local stack "
                     f"fires the schedule send-email created: moto's Scheduler never fires)")
            for approver in stack.approvers:
                reminder = stack.inbox.wait_for_reminder(approver, execution_name, timeout=args.remind_after + 60)
                print()
                print_email(reminder)
            print()
        request_id = local_stack.request_id_of(local_stack.credential_of(email.approve_url))
        if args.slack != "none":
            progress(f"waiting for the Slack messages (SLACK_DELIVERY {args.slack}; the emulator at "
                     f"{stack.slack.base_url})")
            slack_demo.print_messages(stack, slack_demo.wait_for_messages(stack, request_id), "as posted")
            print()
        if args.auto_approve or args.auto_reject:
            skip = 0
            if args.slack != "none":
                action, verb = ("approve", "Approved") if args.auto_approve else ("reject", "Rejected")
                slack_demo.vote(stack, request_id, stack.approvers[0], action, f"{verb} from the demo", progress)
                skip = 1
            decide_automatically(args, emails, skip)
        else:
            print(f"Open the Approve or Reject link in your browser. The approval times out after "
                  f"{args.timeout_seconds}s; Ctrl-C stops everything.", flush=True)
        result = stack.wait_for_end(execution_arn, timeout=None)
        end_state = stack.last_state_entered(execution_arn)
        notice = "decided" if result["status"] == "SUCCEEDED" else "expired"
        for approver in stack.approvers:
            with contextlib.suppress(local_stack.StackError):
                email_after = stack.inbox.wait_for_decided(approver, execution_name, timeout=10, kind=notice)
                print()
                print_email(email_after)
        print()
        print(f"Execution {execution_name}: {result['status']}, ended in {end_state}")
        if result.get("output"):
            print("Output:")
            print(json.dumps(json.loads(result["output"]), indent=2))
        if result.get("error") or result.get("cause"):
            print(f"Error: {result.get('error')}\nCause: {result.get('cause')}")
        if args.slack != "none":
            slack_demo.print_messages(stack, slack_demo.wait_closed(stack, request_id), "after the end")
            print()
        record = stack.table.get(request_id) or {}
        record.pop("TaskToken", None)  # never shown
        print(f"Request record {request_id} (DynamoDB; TaskToken left out):")
        print(json.dumps(record, indent=2, default=str))
        print()
        print_gate_events(stack, execution_arn, request_id, result)
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
