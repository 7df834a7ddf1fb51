"""What both functions logged during the whole session holds no task token."""

from __future__ import annotations

import urllib.parse

import pytest

import stack as local_stack
from helpers import start_and_wait_for_email


@pytest.mark.after_all_other_tests
def test_function_logs_hold_no_task_token(stack: local_stack.LocalStack) -> None:
    if not stack.seen_task_tokens:
        # Run alone: make both functions handle a token first (send-email, then the callback).
        pending = start_and_wait_for_email(stack, "logs-alone")
        assert local_stack.decide_via_confirmation_page(pending.email.approve_url, "").answer.status == 303
        stack.wait_for_end(pending.execution_arn)

    log = stack.functions_log_path.read_text(errors="replace")
    assert log.strip(), f"{stack.functions_log_path} is empty: the functions' logs were not captured"

    leaked = []
    for token in sorted(stack.seen_task_tokens):
        for form in {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}:
            if form in log:
                leaked.append(form)
    assert not leaked, f"task token(s) found in {stack.functions_log_path}: {leaked}"
