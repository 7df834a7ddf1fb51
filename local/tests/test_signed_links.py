"""Signed, expiring links on the real stack: an edited, forged or foreign-key link is refused
with 403 before anything is decided, and the real link still works afterwards."""

from __future__ import annotations

import time
import urllib.parse

import stack as local_stack
from helpers import PendingApproval, events_of_type, output_json, states_entered


def _with_params(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    params = local_stack.link_params(url)
    params.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(params)))


def _without(url: str, *names: str) -> str:
    parts = urllib.parse.urlsplit(url)
    params = {k: v for k, v in local_stack.link_params(url).items() if k not in names}
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(params)))


def _assert_refused(response: local_stack.HttpResponse, status: int, says: str) -> None:
    assert response.status == status, response.body[:500]
    assert says in response.body, response.body[:800]


def test_tampered_forged_and_foreign_links_get_403_and_decide_nothing(
    stack: local_stack.LocalStack, pending_approval: PendingApproval
) -> None:
    email = pending_approval.email
    params = local_stack.link_params(email.reject_url)
    assert params["exp"].isdigit() and len(params["sig"]) == 43, params

    # Another key in the same account, as another deployment of the gate would have.
    other_key = stack.kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    later = int(params["exp"]) + 86_400
    foreign = {**params, "action": "approve", **stack.sign_link_params({**params, "action": "approve"}, int(params["exp"]), other_key)}

    attempts = {
        # The reject link turned into an approval by editing one word.
        "reject link edited to approve": (_with_params(email.reject_url, action="approve"), 403),
        "expiry pushed back": (_with_params(email.approve_url, exp=str(later)), 403),
        "other execution named": (_with_params(email.approve_url, ex="someone-elses-run"), 403),
        "reject's signature on the approve link": (_with_params(email.approve_url, sig=params["sig"]), 403),
        "signature removed": (_without(email.approve_url, "sig", "exp"), 403),
        "signed with another key": (_with_params(email.approve_url, **foreign), 403),
        "expiry in the past": (_with_params(email.approve_url, exp="1"), 410),
    }
    for what, (url, status) in attempts.items():
        for method in ("GET", "POST"):
            if method == "GET":
                response = local_stack.http_request("GET", url)
            else:
                response = local_stack.http_request("POST", url.split("?")[0], form=local_stack.link_params(url))
            says = "This link has expired" if status == 410 else "not issued by this approval gate"
            assert response.status == status, f"{what} ({method}): {response.status} {response.body[:300]}"
            _assert_refused(response, status, says)

    assert stack.describe(pending_approval.execution_arn)["status"] == "RUNNING"
    assert not events_of_type(stack.history(pending_approval.execution_arn), "TaskSucceeded")

    # The genuine approve link still works.
    result = local_stack.decide_via_confirmation_page(email.approve_url, "after the forgeries")
    assert result.answer.status == 303, result.answer.body[:500]
    description = stack.wait_for_end(pending_approval.execution_arn)
    assert states_entered(stack.history(pending_approval.execution_arn))[-1] == "ApprovedPassState"
    assert output_json(description)["Comment"] == "after the forgeries"


def test_links_expire_with_the_approval_timeout(stack: local_stack.LocalStack, pending_approval: PendingApproval) -> None:
    exp = int(local_stack.link_params(pending_approval.email.approve_url)["exp"])
    # The stack passes ApprovalTimeoutSeconds as LINK_TTL_SECONDS, as template.yaml does by default.
    expected = time.time() + stack.config.approval_timeout_seconds
    assert expected - 120 <= exp <= expected + 5, (exp, expected)
