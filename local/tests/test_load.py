"""Concurrency on the real local stack: many requests decided at once, and one link pressed many
times at once. Every request ends decided exactly once (one SendTaskSuccess, one vote recorded).

The load test's wall time is printed (scripts/e2e runs pytest with -rP) as a figure, not asserted:
performance goals live in the benchmark, not in tests."""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid

import localstack
from helpers import APPROVER, SECOND_APPROVER, events_of_type, output_json, record, start_and_wait_for_email, states_entered

EXECUTIONS = 50
SAME_LINK_POSTS = 20
RACES = 10


def _email_or_explain(stack: localstack.LocalStack, name: str, arn: str) -> localstack.Email:
    """The execution's approval email; if none comes, fail with what its history says happened."""
    try:
        return stack.wait_for_email(name, APPROVER, timeout=180)
    except localstack.StackError as err:
        history = [(e["type"], {k: v for k, v in e.items() if k.endswith("EventDetails")}) for e in stack.history(arn)]
        raise AssertionError(f"{err}; status {stack.describe(arn)['status']}; history: {history}") from err


def test_fifty_executions_approved_concurrently_each_end_approved_exactly_once(stack: localstack.LocalStack) -> None:
    run = uuid.uuid4().hex[:6]
    names = [f"load-{run}-{i:02d}" for i in range(EXECUTIONS)]
    started = time.monotonic()

    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * EXECUTIONS) as pool:
        arns = dict(zip(names, pool.map(lambda name: stack.start_execution(name=name), names)))
        emails = dict(zip(names, pool.map(lambda name: _email_or_explain(stack, name, arns[name]), names)))
        emailed = time.monotonic()
        # Each approver opens the link and presses Approve, all at the same moment, while a
        # scanner fetches every reject link in the same burst.
        jobs = [pool.submit(localstack.decide_via_confirmation_page, emails[n].approve_url, f"approved {n}") for n in names]
        scans = [pool.submit(localstack.http_request, "GET", emails[n].reject_url) for n in names]
        decisions = [job.result() for job in jobs]
        scanned = [job.result() for job in scans]
        ends = dict(zip(names, pool.map(lambda name: stack.wait_for_end(arns[name], timeout=180), names)))
    finished = time.monotonic()

    assert [d.answer.status for d in decisions] == [303] * EXECUTIONS, [
        (d.answer.status, d.answer.body[:200]) for d in decisions if d.answer.status != 303]
    # A GET votes nothing: the page (200) before the approval lands, the 409 of this approver
    # (who voted) after it.
    assert {s.status for s in scanned} <= {200, 409}, sorted({(s.status, s.body[:200]) for s in scanned})
    for name in names:
        description = ends[name]
        assert description["status"] == "SUCCEEDED", (name, description)
        history = stack.history(arns[name])
        assert states_entered(history)[-1] == "ApprovedPassState", name
        assert len(events_of_type(history, "TaskSucceeded")) == 1, f"{name} decided more than once"
        assert output_json(description)["Comment"] == f"approved {name}", "each decision went to its own execution"
        [item] = stack.table.of_execution(arns[name])
        assert [v["Comment"] for v in item["Votes"]] == [f"approved {name}"], item["Votes"]

    print(f"\nload: {EXECUTIONS} executions started and emailed in {emailed - started:.1f} s; "
          f"all approved concurrently (with a scanner on every reject link) and ended in {finished - emailed:.1f} s; "
          f"total {finished - started:.1f} s")


def test_the_same_link_posted_twenty_times_at_once_votes_once(stack: localstack.LocalStack) -> None:
    pending = start_and_wait_for_email(stack, "same-link-burst")
    link = pending.email.approve_url
    form = localstack.parse_confirmation_page(localstack.http_request("GET", link).body)["hidden"]
    gate = threading.Barrier(SAME_LINK_POSTS)

    def press(n: int) -> localstack.HttpResponse:
        gate.wait()
        return localstack.http_request("POST", link, form={**form, "comment": f"press {n}"})

    with concurrent.futures.ThreadPoolExecutor(max_workers=SAME_LINK_POSTS) as pool:
        answers = list(pool.map(press, range(SAME_LINK_POSTS)))
    statuses = sorted(a.status for a in answers)
    assert statuses.count(303) == 1, statuses
    assert set(statuses) - {303} <= {409, 410}, [(a.status, a.body[:200]) for a in answers if a.status not in (303, 409, 410)]

    description = stack.wait_for_end(pending.execution_arn)
    history = stack.history(pending.execution_arn)
    assert len(events_of_type(history, "TaskSucceeded")) == 1
    winner = next(a for a in answers if a.status == 303)
    assert winner.headers["location"] == stack.redirect_url
    votes = record(stack, pending)["Votes"]
    assert len(votes) == 1, votes
    assert output_json(description)["Comment"] == votes[0]["Comment"]


def test_approve_and_reject_of_two_approvers_at_the_same_moment_decide_exactly_once(stack: localstack.LocalStack) -> None:
    """Two approvers press Approve and Reject at the same moment: exactly one wins with 303, the
    other gets 410, and the execution follows the winner."""
    run = uuid.uuid4().hex[:6]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2 * RACES) as pool:
        pendings = list(pool.map(lambda i: start_and_wait_for_email(stack, f"race-{run}-{i:02d}"), range(RACES)))
        links = {(p.execution_name, kind): (p.emails[APPROVER].approve_url if kind == "approve"
                                            else p.emails[SECOND_APPROVER].reject_url)
                 for p in pendings for kind in ("approve", "reject")}
        forms = {key: localstack.parse_confirmation_page(localstack.http_request("GET", url).body)["hidden"]
                 for key, url in links.items()}
        gate = threading.Barrier(len(links))

        def press(key: tuple[str, str]) -> int:
            gate.wait()
            return localstack.http_request("POST", links[key], form={**forms[key], "comment": key[1]}).status

        answers = dict(zip(links, pool.map(press, links)))
        ends = {p.execution_name: pool.submit(stack.wait_for_end, p.execution_arn, 120) for p in pendings}

    for p in pendings:
        name = p.execution_name
        assert sorted((answers[(name, "approve")], answers[(name, "reject")])) == [303, 410], (name, answers)
        winner = "approve" if answers[(name, "approve")] == 303 else "reject"
        history = stack.history(p.execution_arn)
        assert len(events_of_type(history, "TaskSucceeded")) == 1, f"{name} decided more than once"
        assert states_entered(history)[-1] == ("ApprovedPassState" if winner == "approve" else "RejectedPassState")
        assert output_json(ends[name].result())["Comment"] == winner
        assert len(record(stack, p)["Votes"]) == 1
