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
    # The file really holds both functions' output: each process started into it, and the lines
    # they wrote about this session's executions are there (names are fine to log; tokens are not).
    for function in (local_stack.SEND_EMAIL_FUNCTION, local_stack.CALLBACK_FUNCTION):
        assert f"debug/{function}`" in log, f"no output of {function} in {stack.functions_log_path}"
    assert any(name in log for name in stack.seen_execution_names), "the functions logged nothing about the executions"

    assert "execution?action=" not in log, "a full approval link was logged"
    leaked = sorted(
        form
        for token in stack.seen_task_tokens
        for form in {token, urllib.parse.quote(token, safe=""), urllib.parse.quote_plus(token)}
        if form in log
    )
    assert not leaked, f"{len(stack.seen_task_tokens)} task tokens checked; found in {stack.functions_log_path}: {leaked}"
