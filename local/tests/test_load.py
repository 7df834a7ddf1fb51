"""Concurrent load on the real local stack: many executions started at once, all approved at
once. Every one must end Approved exactly once; none lost, none stuck, none decided twice.

The wall time is printed (scripts/e2e runs pytest with -rP, which shows it) as a figure for README,
not asserted: performance goals live in the benchmark, not in tests."""

from __future__ import annotations

import concurrent.futures
import time
import uuid

import stack as local_stack
from helpers import events_of_type, output_json, states_entered

EXECUTIONS = 50


def _email_or_explain(stack: local_stack.LocalStack, name: str, arn: str) -> local_stack.Email:
    """The execution's approval email; if none comes, fail with what its history says happened."""
    try:
        return stack.wait_for_email(name, timeout=180)
    except local_stack.StackError as err:
        history = [(e["type"], {k: v for k, v in e.items() if k.endswith("EventDetails")}) for e in stack.history(arn)]
        raise AssertionError(f"{err}; status {stack.describe(arn)['status']}; history: {history}") from err


def test_fifty_executions_approved_concurrently_each_end_approved_exactly_once(stack: local_stack.LocalStack) -> None:
    run = uuid.uuid4().hex[:6]
    names = [f"load-{run}-{i:02d}" for i in range(EXECUTIONS)]
    started = time.monotonic()

    with concurrent.futures.ThreadPoolExecutor(max_workers=EXECUTIONS) as pool:
        arns = dict(zip(names, pool.map(lambda name: stack.start_execution(name=name), names)))
        emails = dict(zip(names, pool.map(lambda name: _email_or_explain(stack, name, arns[name]), names)))
        emailed = time.monotonic()
        # Each approver opens the link and presses Approve, all at the same moment, while a
        # scanner fetches every reject link in the same burst.
        jobs = [pool.submit(local_stack.decide_via_confirmation_page, emails[name].approve_url, f"approved {name}") for name in names]
        scan_jobs = [pool.submit(local_stack.http_request, "GET", emails[name].reject_url) for name in names]
        decisions = [job.result() for job in jobs]
        scans = [job.result() for job in scan_jobs]
        ends = dict(zip(names, pool.map(lambda name: stack.wait_for_end(arns[name], timeout=180), names)))
    finished = time.monotonic()

    assert [d.answer.status for d in decisions] == [303] * EXECUTIONS, [d.answer.body[:200] for d in decisions if d.answer.status != 303]
    # A GET only shows the confirmation page (after checking the signature): it decides nothing,
    # so it cannot know the task was decided either.
    assert {s.status for s in scans} == {200}, {s.status for s in scans}
    for name in names:
        description = ends[name]
        assert description["status"] == "SUCCEEDED", (name, description)
        history = stack.history(arns[name])
        assert states_entered(history)[-1] == "ApprovedPassState", name
        assert len(events_of_type(history, "TaskSucceeded")) == 1, f"{name} decided more than once"
        assert output_json(description)["Comment"] == f"approved {name}", "each decision went to its own execution"

    print(
        f"\nload: {EXECUTIONS} executions started and emailed in {emailed - started:.1f} s; "
        f"all approved concurrently and ended in {finished - emailed:.1f} s; total {finished - started:.1f} s"
    )


RACES = 10


def test_approve_and_reject_pressed_at_the_same_moment_decide_exactly_once(stack: local_stack.LocalStack) -> None:
    """Two approvers (or one with two tabs) press Approve and Reject at the same moment: exactly
    one wins with 303, the other gets 410, and the execution follows the winner."""
    run = uuid.uuid4().hex[:6]
    names = [f"race-{run}-{i:02d}" for i in range(RACES)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * RACES) as pool:
        arns = dict(zip(names, pool.map(lambda name: stack.start_execution(name=name), names)))
        emails = dict(zip(names, pool.map(lambda name: stack.wait_for_email(name, timeout=120), names)))
        # Both confirmation pages first, then both POSTs released together.
        forms = {
            (name, kind): local_stack.parse_confirmation_page(local_stack.http_request("GET", url).body)
            for name in names
            for kind, url in (("approve", emails[name].approve_url), ("reject", emails[name].reject_url))
        }
        posts = {
            key: pool.submit(local_stack.http_request, "POST", (emails[key[0]].approve_url if key[1] == "approve" else emails[key[0]].reject_url),
                             form={**form["hidden"], "comment": key[1]})
            for key, form in forms.items()
        }
        answers = {key: job.result().status for key, job in posts.items()}
        ends = dict(zip(names, pool.map(lambda name: stack.wait_for_end(arns[name], timeout=120), names)))

    for name in names:
        statuses = sorted((answers[(name, "approve")], answers[(name, "reject")]))
        assert statuses == [303, 410], (name, answers[(name, "approve")], answers[(name, "reject")])
        winner = "approve" if answers[(name, "approve")] == 303 else "reject"
        history = stack.history(arns[name])
        assert len(events_of_type(history, "TaskSucceeded")) == 1, f"{name} decided more than once"
        assert states_entered(history)[-1] == ("ApprovedPassState" if winner == "approve" else "RejectedPassState"), name
        assert output_json(ends[name])["Comment"] == winner, "the recorded decision is the winner's"
