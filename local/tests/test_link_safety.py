"""Links opened by machines, edited, cut short, or given the other action: none of that decides
anything, and each gets the contract's page; the genuine link still works afterwards."""

from __future__ import annotations

import localstack
from helpers import (
    APPROVER,
    SECOND_APPROVER,
    PendingApproval,
    action_credentials,
    assert_page,
    assert_per_action_credentials,
    assert_still_waiting,
    output_json,
    record,
    states_entered,
)
from localstack import credentials

SCANNER_ROUNDS = 3  # mail scanners and link previewers fetch a link more than once


def test_scanner_gets_heads_and_options_decide_nothing_and_a_real_approval_still_works(
    stack: localstack.LocalStack, pending_approval: PendingApproval
) -> None:
    links = [url for email in pending_approval.emails.values() for url in (email.approve_url, email.reject_url)]
    for _ in range(SCANNER_ROUNDS):
        for link in links:
            assert_page(localstack.http_request("GET", link), 200, pending_approval.execution_name)
            for method in ("HEAD", "OPTIONS"):
                answer = localstack.http_request(method, link)
                assert answer.status == 405, (method, answer.status, answer.body[:300])
                allowed = {m.strip() for m in answer.headers.get("allow", "").split(",")}
                assert allowed == {"GET", "POST"}, (method, answer.headers)

    # The decision is synchronous in the callback (SendTaskSuccess before answering), so had any
    # of those requests voted, the record and the history would show it by now.
    assert_still_waiting(stack, pending_approval)

    result = localstack.decide_via_confirmation_page(pending_approval.email.approve_url, "after the scanners")
    assert result.answer.status == 303, result.answer.body[:500]
    description = stack.wait_for_end(pending_approval.execution_arn)
    assert states_entered(stack.history(pending_approval.execution_arn))[-1] == "ApprovedPassState"
    assert output_json(description)["Comment"] == "after the scanners"


def test_altered_and_truncated_credentials_get_404_and_400_and_decide_nothing(
    stack: localstack.LocalStack, pending_approval: PendingApproval
) -> None:
    link = pending_approval.emails[APPROVER].approve_url
    mine = credentials.credential_of(link)
    theirs = credentials.credential_of(pending_approval.emails[SECOND_APPROVER].approve_url)
    assert mine != theirs
    altered = {
        "request id part changed": credentials.altered(mine, "request"),
        "slot part changed": credentials.altered(mine, "slot"),
        "secret part changed": credentials.altered(mine, "secret"),
        "my secret in the other approver's slot": credentials.compose(
            credentials.request_id_of(mine), credentials.slot_of(theirs), credentials.secret_of(mine)),
        "last character changed": mine[:-1] + ("A" if mine[-1] != "A" else "B"),
    }
    not_found_pages = set()
    for what, credential in altered.items():
        url = credentials.with_params(link, c=credential)
        for answer in (localstack.http_request("GET", url), localstack.post_link(url, "forged")):
            assert_page(answer, 404, "not a link of this approval gate")
            not_found_pages.add(answer.body)
            assert credential not in answer.body, f"{what}: the 404 page echoes the credential"
    assert len(not_found_pages) == 1, "the 404 page must not hint which part was wrong"

    bad_requests = {
        "truncated": (credentials.with_params(link, c=mine[:-1]), "c"),
        "one character too many": (credentials.with_params(link, c=mine + "A"), "c"),
        "not base64url": (credentials.with_params(link, c=mine[:-1] + "!"), "c"),
        "no credential": (link.split("&c=")[0], "c"),
        "repeated credential": (f"{link}&c={mine}", "c"),
        "unknown action": (credentials.with_params(link, action="maybe"), "action"),
    }
    for what, (url, names) in bad_requests.items():
        # The POST carries the same fields as its form body, to the bare path (no query to fall back on).
        path, _, query = url.partition("?")
        posted = localstack.http_request("POST", path, body=f"{query}&comment=bad".encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        for answer in (localstack.http_request("GET", url), posted):
            assert_page(answer, 400)
            assert f"`{names}`" in answer.body or f"<code>{names}</code>" in answer.body \
                or f"'{names}'" in answer.body or f'"{names}"' in answer.body, \
                f"{what}: the 400 page does not name {names}: {answer.body[:800]}"

    assert_still_waiting(stack, pending_approval)
    result = localstack.decide_via_confirmation_page(link, "after the forgeries")
    assert result.answer.status == 303, result.answer.body[:500]
    assert output_json(stack.wait_for_end(pending_approval.execution_arn))["Comment"] == "after the forgeries"


def test_a_credential_votes_only_its_own_action(stack: localstack.LocalStack,
                                                pending_approval: PendingApproval) -> None:
    """Per-action credentials (CONTRACT.md): each approver's Approve and Reject links carry
    different credentials of the same holder (request id, slot); the Reject link's credential with
    action=approve is an unknown link: 404, the same page as any unknown link, nothing recorded."""
    slots = {email.approver: credentials.slot_of(assert_per_action_credentials(email)["approve"])
             for email in pending_approval.emails.values()}
    assert sorted(slots.values()) == list(range(len(stack.approvers))), slots
    assert {credentials.request_id_of(c) for email in pending_approval.emails.values()
            for c in action_credentials(email).values()} == {pending_approval.request_id}

    email = pending_approval.emails[APPROVER]
    own = action_credentials(email)
    unknown = localstack.post_link(credentials.with_params(email.approve_url,
                                                           c=credentials.altered(own["approve"], "secret")), "forged")
    assert_page(unknown, 404, "not a link of this approval gate")

    reject_credential_approving = credentials.with_params(email.reject_url, action="approve")
    assert credentials.link_params(reject_credential_approving) == {"action": "approve", "c": own["reject"]}
    answer = localstack.post_link(reject_credential_approving, "a leaked Reject link")
    assert_page(answer, 404, "not a link of this approval gate")
    assert answer.body == unknown.body, "the crossed credential's 404 differs from an unknown link's"
    assert own["reject"] not in answer.body
    # Nor does it open the Approve page, and the Approve link's credential cannot reject either.
    approve_credential_rejecting = credentials.with_params(email.approve_url, action="reject")
    for crossed in (localstack.http_request("GET", reject_credential_approving),
                    localstack.http_request("GET", approve_credential_rejecting),
                    localstack.post_link(approve_credential_rejecting, "a leaked Approve link")):
        assert_page(crossed, 404, "not a link of this approval gate")
        assert crossed.body == unknown.body

    assert_still_waiting(stack, pending_approval)
    assert record(stack, pending_approval).get("Votes", []) == []

    # The Reject link itself still rejects (its own action).
    result = localstack.decide_via_confirmation_page(email.reject_url, "its own action")
    assert result.answer.status == 303, result.answer.body[:500]
    stack.wait_for_end(pending_approval.execution_arn)
    assert states_entered(stack.history(pending_approval.execution_arn))[-1] == "RejectedPassState"
