"""Requests of several approvers (CONTRACT.md's Approval block, through the "team" state machine,
whose task forwards `$.Approval` from the execution input): the session stack has three
approvers, each with their own SQS inbox subscribed with the filter policy {"approver": [address]}.

Two of three approve; an approval then a rejection (the veto); the third approver after the
decision (410 naming who decided); each inbox holding only its own approver's links; a requester
among the approvers left out and not counted; three approvers pressing at the same instant (one
SendTaskSuccess); a quorum that never completes (expired); "Decided" emails to every approver."""

from __future__ import annotations

import concurrent.futures
import re
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
    SHORT_TEAM,
    TEAM,
    THIRD_APPROVER,
    PendingApproval,
    approval_task_succeeded,
    assert_page,
    assert_per_action_credentials,
    events_of_type,
    output_json,
    record,
    record_once_notified,
    rfc3339_utc,
    start_and_wait_for_email,
    states_entered,
)
from localstack import credentials

QUIET_S = 2.0  # how long "no email for this one" is watched for
TWO_OF_THREE: dict[str, Any] = {
    "Subject": "Rotate the prod database password?",
    "Summary": "Quarterly rotation; the apps reload it within a minute.",
    "Details": {"database": "prod-main", "window": "Tue 10:00 UTC"},
    "RequiredApprovals": 2,  # Approvers left out: every approver of the stack (three)
}
LINK_IN_TEXT = re.compile(r"[?&]c=([A-Za-z0-9_-]{44})")


def _ask(stack: localstack.LocalStack, name: str, approval: dict[str, Any], machine: localstack.StateMachineSpec = TEAM,
         approvers: list[str] | None = None) -> PendingApproval:
    return start_and_wait_for_email(stack, name, machine.arn, execution_input={"Approval": approval},
                                    approvers=approvers)


def _emails_of(stack: localstack.LocalStack, execution_name: str,
               approver: str | None = None) -> list[localstack.Email]:
    return stack.inbox.received(lambda e: e.execution_name == execution_name and approver in (None, e.approver))


def _assert_every_approver_told(stack: localstack.LocalStack, pending: PendingApproval, decision: str, by: str,
                                subject: str) -> None:
    """A "Decided: …" email to each approver of the request, naming the decision and who made it."""
    for approver in pending.emails:
        decided = stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=30)
        assert decided.subject == f"Decided: {subject}", decided.subject
        assert decision in decided.body.lower() and by in decided.body, decided.body


def test_two_of_three_approve_then_the_third_is_410_and_every_approver_is_told(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "two-of-three", TWO_OF_THREE)
    assert set(pending.emails) == {APPROVER, SECOND_APPROVER, THIRD_APPROVER}
    for email in pending.emails.values():
        assert email.subject == TWO_OF_THREE["Subject"]
        assert "2 of 3" in email.body and TWO_OF_THREE["Summary"] in email.body and "prod-main" in email.body, \
            email.body
    assert record_once_notified(stack, pending)["RequiredApprovals"] == 2

    first = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "rotation is due")
    assert_page(first.page, 200, "0 of 2 approvals so far")
    assert_page(first.answer, 200, "vote recorded", "waiting for 1 more")
    assert stack.describe(pending.execution_arn)["status"] == "RUNNING"

    second = localstack.decide_via_confirmation_page(pending.emails[SECOND_APPROVER].approve_url, "go ahead")
    assert_page(second.page, 200, f"1 of 2 approvals so far, by {APPROVER}")
    assert second.answer.status == 303, second.answer.body[:800]
    assert second.answer.headers["location"] == stack.redirect_url

    description = stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "SUCCEEDED"
    history = stack.history(pending.execution_arn)
    assert states_entered(history) == APPROVED_PATH
    assert len(approval_task_succeeded(history)) == 1
    output = output_json(description)
    assert output["Status"] == f"Approved! Task approved by {APPROVER}, {SECOND_APPROVER}"
    assert (output["Decision"], output["Approver"], output["Comment"]) == ("approved", SECOND_APPROVER, "go ahead")
    assert [(a["Approver"], a["Decision"], a["Comment"]) for a in output["Approvals"]] == [
        (APPROVER, "approved", "rotation is due"), (SECOND_APPROVER, "approved", "go ahead")]
    for vote in output["Approvals"]:
        rfc3339_utc(vote["DecidedAt"])

    # The third approver, after the decision: 410 saying how it ended and who decided, GET and POST.
    third = pending.emails[THIRD_APPROVER]
    assert_page(localstack.http_request("GET", third.approve_url), 410, "approved", SECOND_APPROVER)
    assert_page(localstack.post_link(third.reject_url, "too late"), 410, "approved", SECOND_APPROVER)
    assert [v["Approver"] for v in record(stack, pending)["Votes"]] == [APPROVER, SECOND_APPROVER]

    _assert_every_approver_told(stack, pending, "approved", SECOND_APPROVER, TWO_OF_THREE["Subject"])


def test_an_approval_then_a_rejection_is_a_veto(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "approve-then-veto", TWO_OF_THREE)
    first = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "fine")
    assert_page(first.answer, 200, "vote recorded", "waiting for 1 more")

    veto = localstack.decide_via_confirmation_page(pending.emails[THIRD_APPROVER].reject_url, "not this week")
    assert_page(veto.page, 200, f"1 of 2 approvals so far, by {APPROVER}")
    assert veto.answer.status == 303, veto.answer.body[:800]

    description = stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "SUCCEEDED"
    assert states_entered(stack.history(pending.execution_arn))[-1] == "RejectedPassState"
    output = output_json(description)
    assert output["Status"] == f"Rejected! Task rejected by {THIRD_APPROVER}"
    assert (output["Decision"], output["Approver"], output["Comment"]) == ("rejected", THIRD_APPROVER, "not this week")
    assert [(a["Approver"], a["Decision"], a["Comment"]) for a in output["Approvals"]] == [
        (APPROVER, "approved", "fine"), (THIRD_APPROVER, "rejected", "not this week")]

    # The approver who had not voted: 410 naming the veto and who made it; the first one: 409.
    assert_page(localstack.http_request("GET", pending.emails[SECOND_APPROVER].approve_url), 410, "rejected",
                THIRD_APPROVER)
    assert_page(localstack.post_link(pending.emails[APPROVER].approve_url), 409, "already voted")

    _assert_every_approver_told(stack, pending, "rejected", THIRD_APPROVER, TWO_OF_THREE["Subject"])


def test_each_inbox_gets_only_its_own_approvers_emails_and_links(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "inbox-isolation", TWO_OF_THREE)
    item = record_once_notified(stack, pending)
    slots = {a["Address"]: n for n, a in enumerate(item["Approvers"])}
    assert set(slots) == {APPROVER, SECOND_APPROVER, THIRD_APPROVER}
    # Two credentials per approver (one per action), six different ones, each pair in its approver's slot.
    own = {approver: set(assert_per_action_credentials(email).values()) for approver, email in pending.emails.items()}
    assert len(set().union(*own.values())) == 6, "two credentials per approver, none shared"
    for approver, pair in own.items():
        assert {credentials.slot_of(c) for c in pair} == {slots[approver]}, (approver, pair)

    assert localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "a").answer.status == 200
    deciding = localstack.decide_via_confirmation_page(pending.emails[SECOND_APPROVER].approve_url, "b")
    assert deciding.answer.status == 303
    stack.wait_for_end(pending.execution_arn)
    for approver in pending.emails:
        stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=30)

    assert not stack.inbox.problems, stack.inbox.problems  # each message's `approver` attribute was its queue's
    for approver in pending.emails:
        emails = _emails_of(stack, pending.execution_name, approver)
        assert sorted(e.kind for e in emails) == ["approval", "decided"], [(e.kind, e.subject) for e in emails]
        found = {c for e in emails for c in LINK_IN_TEXT.findall(e.body)}
        assert found == own[approver], f"{approver}'s queue holds credentials {found}, its own are {own[approver]}"
        for other, pair in own.items():
            if other != approver:
                assert not any(credential in e.body or credentials.b64url(credentials.secret_of(credential)) in e.body
                               for credential in pair for e in emails), f"{approver}'s queue holds {other}'s credential"


@pytest.mark.after_all_other_tests
def test_no_inbox_of_the_session_ever_got_another_approvers_link(stack: localstack.LocalStack) -> None:
    """Every link any inbox received in the session is that inbox's approver's slot of its request."""
    addresses = {item["RequestId"]: [a["Address"] for a in item["Approvers"]] for item in stack.table.all()}
    links = [(e.approver, c) for e in stack.inbox.received(lambda e: True) for c in LINK_IN_TEXT.findall(e.body)]
    assert links, "no links received in the session"
    wrong = [(approver, credentials.request_id_of(c)) for approver, c in links
             if approver != (addresses.get(credentials.request_id_of(c)) or [None] * 256)[credentials.slot_of(c)]]
    assert not wrong, f"{len(wrong)} of {len(links)} links went to an inbox not of their approver: {wrong[:5]}"
    assert not stack.inbox.problems, stack.inbox.problems


def test_the_requester_gets_no_email_and_is_not_counted(stack: localstack.LocalStack) -> None:
    asked = {**TWO_OF_THREE, "RequestedBy": THIRD_APPROVER}
    pending = _ask(stack, "requester-left-out", asked, approvers=[APPROVER, SECOND_APPROVER])
    for email in pending.emails.values():
        assert "2 of 2" in email.body and THIRD_APPROVER in email.body, email.body  # N of M without the requester
    item = record_once_notified(stack, pending)
    assert [a["Address"] for a in item["Approvers"]] == [APPROVER, SECOND_APPROVER]
    assert (item["RequiredApprovals"], item["RequestedBy"]) == (2, THIRD_APPROVER)
    time.sleep(QUIET_S)
    assert not _emails_of(stack, pending.execution_name, THIRD_APPROVER), "the requester got an email"

    assert localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "a").answer.status == 200
    deciding = localstack.decide_via_confirmation_page(pending.emails[SECOND_APPROVER].approve_url, "b")
    assert deciding.answer.status == 303
    output = output_json(stack.wait_for_end(pending.execution_arn))
    assert [a["Approver"] for a in output["Approvals"]] == [APPROVER, SECOND_APPROVER]
    _assert_every_approver_told(stack, pending, "approved", SECOND_APPROVER, TWO_OF_THREE["Subject"])
    time.sleep(QUIET_S)
    assert not _emails_of(stack, pending.execution_name, THIRD_APPROVER), "the requester was sent a decided email"

    # One approval more than the approvers left without the requester: refused, nothing stored or sent.
    name = f"requester-counted-{int(time.time() * 1000) % 10**9}"
    records_before = stack.table.count()
    arn = stack.start_execution(name=name, state_machine_arn=TEAM.arn,
                                execution_input={"Approval": {**asked, "RequiredApprovals": 3}})
    description = stack.wait_for_end(arn, timeout=60)
    assert description["status"] == "FAILED"
    failures = events_of_type(stack.history(arn), "TaskFailed")
    assert [f["taskFailedEventDetails"]["error"] for f in failures] == ["SendEmail.InvalidInput"], failures
    assert "RequiredApprovals" in failures[0]["taskFailedEventDetails"].get("cause", ""), failures[0]
    time.sleep(QUIET_S)
    assert not _emails_of(stack, name) and stack.table.count() == records_before


def test_three_approvers_pressing_at_the_same_instant_decide_once_with_two_votes(stack: localstack.LocalStack) -> None:
    run = uuid.uuid4().hex[:6]
    races = 3
    approvers = (APPROVER, SECOND_APPROVER, THIRD_APPROVER)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3 * races) as pool:
        pendings = list(pool.map(lambda i: _ask(stack, f"quorum-race-{run}-{i}", TWO_OF_THREE), range(races)))
        links = {(p.execution_name, who): p.emails[who].approve_url for p in pendings for who in approvers}
        forms = {key: localstack.parse_confirmation_page(localstack.http_request("GET", url).body)["hidden"]
                 for key, url in links.items()}
        gate = threading.Barrier(len(links))

        def press(key: tuple[str, str]) -> localstack.HttpResponse:
            gate.wait()
            return localstack.http_request("POST", links[key], form={**forms[key], "comment": f"by {key[1]}"})

        answers = dict(zip(links, pool.map(press, links), strict=True))

    for p in pendings:
        mine = {who: answers[(p.execution_name, who)] for who in approvers}
        statuses = sorted(a.status for a in mine.values())
        assert statuses == [200, 303, 410], (p.execution_name, {w: (a.status, a.body[:200]) for w, a in mine.items()})
        description = stack.wait_for_end(p.execution_arn)
        history = stack.history(p.execution_arn)
        succeeded = approval_task_succeeded(history)
        assert len(succeeded) == 1, f"{p.execution_name}: {len(succeeded)} SendTaskSuccess"
        assert states_entered(history)[-1] == "ApprovedPassState"
        output = output_json(description)
        first = next(w for w, a in mine.items() if a.status == 200)
        decider = next(w for w, a in mine.items() if a.status == 303)
        late = next(w for w, a in mine.items() if a.status == 410)
        assert_page(mine[late], 410, "approved", decider)
        assert [(a["Approver"], a["Comment"]) for a in output["Approvals"]] == [
            (first, f"by {first}"), (decider, f"by {decider}")]
        assert output["Approver"] == decider
        votes = record(stack, p)["Votes"]
        assert [v["Approver"] for v in votes] == [first, decider], votes


def test_a_quorum_that_never_completes_expires_and_every_approver_is_told(stack: localstack.LocalStack) -> None:
    pending = _ask(stack, "quorum-expires", TWO_OF_THREE, machine=SHORT_TEAM)
    # One approval, if it lands inside the 3 s (else the request already closed): not enough either way.
    early = localstack.post_link(pending.emails[APPROVER].approve_url, "only me")
    assert early.status in (200, 410), early.body[:500]

    description = stack.wait_for_end(pending.execution_arn, timeout=60)
    assert description["status"] == "FAILED" and description.get("error") == "Approval.TimedOut", description
    history = stack.history(pending.execution_arn)
    assert states_entered(history)[-1] == "ApprovalTimedOutState"
    assert len(events_of_type(history, "TaskTimedOut")) == 1
    assert not [e for e in approval_task_succeeded(history)
                if e["taskSucceededEventDetails"].get("resource") == "invoke.waitForTaskToken"]
    # The Catch told send-email (TellApproversOfExpiry); the record's change (the stream) had every
    # approver of the request told, each through their own filtered inbox.
    assert record(stack, pending)["State"]["Name"] == "expired"
    for approver in pending.emails:
        notice = stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=15, kind="expired")
        assert notice.subject.startswith("Expired: "), notice
        assert "expired undecided" in notice.body and pending.execution_name in notice.body, notice
    expires_at = rfc3339_utc(record(stack, pending)["ExpiresAt"]).timestamp()
    time.sleep(max(0.0, expires_at + 1.1 - time.time()))
    for approver, email in pending.emails.items():
        voted = approver == APPROVER and early.status == 200
        for answer in (localstack.http_request("GET", email.approve_url),
                       localstack.post_link(email.reject_url, "late")):
            if voted:
                assert answer.status in (409, 410), (approver, answer.status, answer.body[:300])
            else:
                assert_page(answer, 410)
    assert len(record(stack, pending).get("Votes", [])) == (1 if early.status == 200 else 0)
