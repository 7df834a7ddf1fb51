"""Invariant 1: a task token exists only in Step Functions and the store. Every token of the
session (read from the executions' histories) is looked for in both functions' logs, in every
email any approver received and in every page or answer the tests got back."""

from __future__ import annotations

import json
import urllib.parse

import pytest

import localstack
from helpers import start_and_wait_for_email
from localstack import net

EVENTS = localstack.REPO_ROOT / "events"


def _forms(token: str) -> set[str]:
    return {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}


@pytest.mark.after_all_other_tests
def test_no_task_token_in_any_email_page_or_log_line(stack: localstack.LocalStack) -> None:
    if not stack.inbox.received(lambda e: e.kind == "decided"):
        # Run alone: make both functions handle a token first (send-email, then the callback).
        pending = start_and_wait_for_email(stack, "tokens-alone")
        assert localstack.decide_via_confirmation_page(pending.email.approve_url, "").answer.status == 303
        stack.wait_for_end(pending.execution_arn)

    tokens = stack.workflows.task_tokens()
    for sample in EVENTS.glob("send-email*.json"):  # the events test sends these through send-email
        tokens.add(json.loads(sample.read_text())["ExecutionContext"]["Task"]["Token"])
    assert len(tokens) >= 2, f"only {len(tokens)} task tokens in the session"

    log = stack.functions_log_path.read_text(errors="replace")
    for function in (localstack.SEND_EMAIL_FUNCTION, localstack.CALLBACK_FUNCTION):
        assert function in log, f"no output of {function} in {stack.functions_log_path}"
    assert "execution?action=" not in log and "&c=" not in log, "a link was logged"

    emails = [f"{e.subject}\n{e.body}" for e in stack.inbox.received(lambda e: True)]
    pages = list(net.SEEN_BODIES)
    assert emails and pages
    places = {"the functions' log": [log], "an email": emails, "a page or answer": pages}
    leaked = sorted(
        (where, form[:16] + "…")
        for where, texts in places.items()
        for token in tokens
        for form in _forms(token)
        for text in texts
        if form in text
    )
    assert not leaked, f"{len(tokens)} task tokens checked over {len(emails)} emails and {len(pages)} pages: {leaked}"
