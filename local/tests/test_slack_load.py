"""Load with Slack (issue #25): 50 requests needing 2 of 3 approvals, started at once on a stack of
its own with SES email and Slack DMs (conftest's `slack_stack`), their three approvers voting at the
same moment through both channels while a scanner GETs every email link.

For each request: approver A POSTs their email link's form, approver B submits the Slack modal
their click opened, approver C does both at once (at most one of the two may count). Before the
burst, A and C open their pages and B and C click Approve (a few clicks at a time: each click's
trigger must open its modal within Slack's 3 s). Then all 200 votes and the scanner's 300 GETs
leave together (a barrier). Asserted: each execution decided exactly once (one TaskSucceeded of
the approval task) and ends in ApprovedPassState; the two votes that counted are recorded once
each, of two approvers, `Via` as cast, and every other vote was refused (409 / 410, or the
modal's "already voted" / "already approved"); every DM of each request ends saying "Approved"
with no buttons; the gate's events of each request are one Requested, two Vote Recorded, one
Decided; no answer is a 5xx.

The wall times are printed (scripts/e2e runs pytest with -rP), not asserted (see test_load.py)."""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import threading
import time
import uuid
from typing import Any

import pytest

import localstack
from helpers import (
    APPROVED_PATH,
    APPROVER,
    SECOND_APPROVER,
    TEAM,
    THIRD_APPROVER,
    approval_task_succeeded,
    assert_page,
    delivery_state,
    output_json,
    states_entered,
)
from localstack import credentials, functions, moto_server, slack_interactions
from localstack.slack_emulator import SlackView
from slack_helpers import has_actions, message_for, message_text, wait_for_messages_of, wait_until_closed

pytestmark = pytest.mark.own_stack  # conftest runs these first, on `slack_stack`, before the session's stack

EXECUTIONS = 50
BY_EMAIL, BY_SLACK, BY_BOTH = APPROVER, SECOND_APPROVER, THIRD_APPROVER
TWO_OF_THREE: dict[str, Any] = {"Subject": "Load: two of three, by email and Slack", "RequiredApprovals": 2}
# A client's patience with 500 requests at once, worked through by the callback's few instances.
BURST_TIMEOUT_S = 180
WAIT_S = 180
# Clicks in flight at once before the burst: each must open its modal within Slack's 3 s.
CLICKERS = functions.CONCURRENCY
CLICKS_PER_MODAL = 3  # a clicker whose modal did not open clicks again, as a person would
REQUESTED, VOTE_RECORDED, DECIDED = "Approval Requested", "Approval Vote Recorded", "Approval Decided"
REFUSED_IN_SLACK = ("You already voted", "This request was already approved by")

Cast = tuple[str, str, str]  # (execution name, approver, "email" | "slack")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One vote's answer: whether it counted, and how the answer read (for the messages)."""

    counted: bool
    status: int
    said: str


def _email_outcome(answer: localstack.HttpResponse) -> Outcome:
    """A link's POST: 200 (counted, waiting for one more) or 303 (counted, decided); 409 (this
    approver voted already, in Slack) or 410 (decided by others) refused it. Anything else fails."""
    if answer.status == 200:
        assert_page(answer, 200, "vote recorded", "waiting for 1 more")
    elif answer.status == 409:
        assert_page(answer, 409, "already voted")
    elif answer.status == 410:
        assert_page(answer, 410, "approved")
    else:
        assert answer.status == 303, f"a link's POST answered {answer.status}: {answer.body[:500]}"
    return Outcome(answer.status in (200, 303), answer.status, answer.body[:300])


def _slack_outcome(answer: localstack.HttpResponse) -> Outcome:
    """A modal's submission: 200 with no body (counted: Slack closes the modal), or 200 with the
    modal's error saying the approver already voted (by email) or the request was approved
    (refused). "Could not record your vote just now" (a vote that lost its races) fails."""
    assert answer.status == 200, f"a submission answered {answer.status}: {answer.body[:500]}"
    if not answer.body:
        return Outcome(True, 200, "")
    said = json.loads(answer.body)
    assert said.get("response_action") == "errors", said
    why = str(said["errors"]["comment"])
    assert why.startswith(REFUSED_IN_SLACK), f"a submission refused for another reason: {why}"
    return Outcome(False, 200, why)


def _comment(cast: Cast) -> str:
    return f"{cast[1]} by {cast[2]} on {cast[0]}"


def _open_modal(stack: localstack.LocalStack, request_id: str, approver: str) -> tuple[SlackView, int]:
    """`approver` clicks Approve in their DM of the request until the modal opens: (it, clicks)."""
    def opened() -> SlackView | None:
        return next((v for v in stack.slack.views() if v.user.email == approver
                     and v.view.get("private_metadata") == f"{request_id}:approve"), None)

    for clicks in range(1, CLICKS_PER_MODAL + 1):
        clicked = stack.slack.click(message_for(stack, approver, request_id), approver, "approve")
        assert clicked.status == 200, f"a click answered {clicked.status}: {clicked.body[:300]}"
        try:  # the click's answer comes after its views.open (or after the callback gave up on it)
            return stack.slack.wait_for(opened, 5, f"{approver}'s modal of {request_id}"), clicks
        except localstack.StackError:
            continue
    raise AssertionError(f"{approver}'s modal of {request_id} did not open in {CLICKS_PER_MODAL} clicks")


def _post_submission(stack: localstack.LocalStack, view: SlackView, comment: str,
                     gate: threading.Barrier) -> localstack.HttpResponse:
    """Slack's signed view_submission of `view` with `comment`, posted once `gate` opens (as
    stack.slack.submit, with the burst's patience rather than its 30 s)."""
    payload = slack_interactions.view_submission(stack.slack, view, view.user, {"comment": comment})
    body = slack_interactions.form_body(payload)
    gate.wait()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **stack.slack.sign(body)}
    return localstack.http_request("POST", stack.slack.interactions_url, body=body, headers=headers,
                                   timeout=BURST_TIMEOUT_S)


def _records(stack: localstack.LocalStack, arns: set[str]) -> dict[str, dict[str, Any]]:
    """The requests' records once each one's delivery mark (written after the answer) settled."""
    deadline = time.monotonic() + 30
    while True:
        items = [i for i in stack.table.all() if i["ExecutionArn"] in arns]
        if all(delivery_state(i) != "sending" for i in items) or time.monotonic() > deadline:
            return {i["ExecutionArn"]: i for i in items}
        time.sleep(0.2)


def test_fifty_two_of_three_requests_voted_at_once_by_email_and_slack_decide_once_each(
        slack_stack: localstack.LocalStack) -> None:
    stack = slack_stack
    run = uuid.uuid4().hex[:6]
    names = [f"slack-load-{run}-{i:02d}" for i in range(EXECUTIONS)]
    mailed_to = [(name, who) for name in names for who in stack.approvers]
    casts: list[Cast] = [(name, who, via) for name in names
                         for who, via in ((BY_EMAIL, "email"), (BY_SLACK, "slack"), (BY_BOTH, "email"),
                                          (BY_BOTH, "slack"))]
    started = time.monotonic()

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(casts) + 6 * EXECUTIONS) as pool:
        arns = dict(zip(names, pool.map(lambda name: stack.start_execution(
            name=name, state_machine_arn=TEAM.arn, execution_input={"Approval": TWO_OF_THREE}), names), strict=True))
        emails = dict(zip(mailed_to, pool.map(lambda m: stack.wait_for_email(m[0], m[1], timeout=WAIT_S), mailed_to),
                          strict=True))
        rids = {name: credentials.request_id_of(credentials.credential_of(emails[(name, BY_EMAIL)].approve_url))
                for name in names}
        list(pool.map(lambda name: wait_for_messages_of(stack, rids[name], 3, timeout=WAIT_S), names))
        mailed = time.monotonic()

        # Before the burst: A and C open their pages; B and C click Approve, CLICKERS at a time.
        page_of = [(name, who) for name in names for who in (BY_EMAIL, BY_BOTH)]
        pages = dict(zip(page_of, pool.map(lambda p: localstack.http_request(
            "GET", emails[p].approve_url, timeout=BURST_TIMEOUT_S), page_of), strict=True))
        for page in pages.values():
            assert_page(page, 200, "0 of 2 approvals so far")
        clickers = [(name, who) for name in names for who in (BY_SLACK, BY_BOTH)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=CLICKERS) as clicking:
            modals = dict(zip(clickers, clicking.map(lambda c: _open_modal(stack, rids[c[0]], c[1]), clickers),
                              strict=True))
        prepared, burst_at = time.monotonic(), time.time()

        # The burst: 200 votes and 300 GETs at the same moment.
        links = [url for email in emails.values() for url in (email.approve_url, email.reject_url)]
        gate = threading.Barrier(len(casts) + len(links), timeout=120)

        def vote(cast: Cast) -> localstack.HttpResponse:
            name, who, via = cast
            if via == "slack":
                return _post_submission(stack, modals[(name, who)][0], _comment(cast), gate)
            form = {**localstack.parse_confirmation_page(pages[(name, who)].body)["hidden"], "comment": _comment(cast)}
            gate.wait()
            return localstack.http_request("POST", emails[(name, who)].approve_url, form=form, timeout=BURST_TIMEOUT_S)

        def scan(url: str) -> localstack.HttpResponse:
            gate.wait()
            return localstack.http_request("GET", url, timeout=BURST_TIMEOUT_S)

        conflicts_before = moto_server.conditional_check_failures()
        voting = {cast: pool.submit(vote, cast) for cast in casts}
        scans = [pool.submit(scan, url) for url in links]
        answers = {cast: job.result() for cast, job in voting.items()}
        scanned = [job.result() for job in scans]
        answered = time.monotonic()
        conflicts = moto_server.conditional_check_failures() - conflicts_before
        ends = dict(zip(names, pool.map(lambda name: stack.wait_for_end(arns[name], timeout=WAIT_S), names),
                        strict=True))
        decided = time.monotonic()
        # When the last execution ended, by Step Functions' clock (moto's, this machine's).
        last_end = max(ends[name]["stopDate"].timestamp() for name in names) - burst_at
        closed = dict(zip(names, pool.map(lambda name: wait_until_closed(stack, rids[name], "Approved",
                                                                         timeout=WAIT_S), names), strict=True))
    finished = time.monotonic()

    every_answer = [*answers.values(), *scanned, *pages.values()]
    server_errors = collections.Counter(a.status for a in every_answer if a.status >= 500)
    assert not server_errors, f"5xx answers: {server_errors}; " + "; ".join(
        {a.body[:200] for a in every_answer if a.status >= 500})
    # A GET votes nothing: the page (200) before its approver's vote, 409 after it, 410 once decided.
    assert {s.status for s in scanned} <= {200, 409, 410}, sorted({(s.status, s.body[:200]) for s in scanned})
    outcomes = {cast: (_email_outcome if cast[2] == "email" else _slack_outcome)(answer)
                for cast, answer in answers.items()}

    for execution in arns.values():
        stack.execution_watcher.wait_reported(execution, timeout=WAIT_S)
    stack.stream_poller.wait_idle(timeout=WAIT_S)
    records = _records(stack, set(arns.values()))
    events: dict[str | None, list[Any]] = collections.defaultdict(list)
    for event in stack.gate_events.all():
        events[event.request_id].append(event)

    for name in names:
        mine = {cast: outcome for cast, outcome in outcomes.items() if cast[0] == name}
        counted = [cast for cast, outcome in mine.items() if outcome.counted]
        shown = {f"{who} by {via}": (o.status, o.said) for (_, who, via), o in mine.items()}
        assert len(counted) == 2 and len({who for _, who, _ in counted}) == 2, (name, shown)
        assert sum(o.status == 303 for o in mine.values()) <= 1, (name, shown)
        assert not all(mine[(name, BY_BOTH, via)].counted for via in ("email", "slack")), (name, shown)

        description = ends[name]
        assert description["status"] == "SUCCEEDED", (name, description)
        history = stack.history(arns[name])
        assert states_entered(history) == APPROVED_PATH, (name, states_entered(history))
        assert len(approval_task_succeeded(history)) == 1, f"{name} decided more than once"

        item = records[arns[name]]
        votes = [(v["Approver"], v["Via"], v["Comment"]) for v in item["Votes"]]
        assert sorted(votes) == sorted((who, via, _comment((name, who, via))) for _, who, via in counted), (
            name, votes, shown)
        assert all(v["Choice"] == "approved" for v in item["Votes"]), item["Votes"]
        assert (item["State"]["Name"], item["State"]["Decision"], item["State"]["By"]) == (
            "decided", "approved", votes[-1][0]), item["State"]
        assert delivery_state(item) == "sent", item["State"]
        output = output_json(description)
        assert [(a["Approver"], a["Via"], a["Comment"]) for a in output["Approvals"]] == votes, output["Approvals"]

        assert sorted(m.channel for m in closed[name]) == sorted(stack.slack.user(a).dm_channel
                                                                 for a in stack.approvers), name
        for message in closed[name]:
            assert not has_actions(message), message_text(message)
            assert all(who in message_text(message) for who, _, _ in votes), message_text(message)

        theirs = events[rids[name]]
        assert collections.Counter(e.detail_type for e in theirs) == {REQUESTED: 1, VOTE_RECORDED: 2, DECIDED: 1}, (
            name, [e.summary() for e in theirs])
        [decision] = [e.detail for e in theirs if e.detail_type == DECIDED]
        assert (decision["decision"], decision["decidedBy"]) == ("approved", votes[-1][0]), decision
        assert [(v["approver"], v["via"], v["comment"]) for v in decision["votes"]] == votes, decision["votes"]

    ways = collections.Counter(tuple(sorted(f"{who.split('@')[0]}/{via}" for _, who, via in
                                            (c for c, o in outcomes.items() if c[0] == name and o.counted)))
                               for name in names)
    clicks = sum(n for _, n in modals.values())
    print(f"\nslack load: {EXECUTIONS} two-of-three requests started, emailed by SES and posted in Slack "
          f"({len(mailed_to)} emails, {len(mailed_to)} DMs) in {mailed - started:.1f} s; {len(pages)} pages opened "
          f"and {len(modals)} modals opened by {clicks} clicks ({CLICKERS} at a time) in {prepared - mailed:.1f} s; "
          f"{len(casts)} votes (email and Slack) at once with a scanner on all {len(links)} links: every decision "
          f"landed (the last execution ended) {last_end:.1f} s after the burst, every request answered in "
          f"{answered - prepared:.1f} s, every DM closed {finished - decided:.1f} s after the last answer; "
          f"total {finished - started:.1f} s; "
          f"{conflicts} compare-and-swap writes lost their race (--concurrency {functions.CONCURRENCY}); "
          f"votes that counted: {dict(ways)}")
