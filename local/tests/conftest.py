"""One local stack (moto + cargo lambda watch) for the whole e2e session: built and started once.

Its approvers are three addresses (APPROVERS="approver@example.com,second@example.com,
third@example.com"), each with its own SQS inbox subscribed with the filter policy
{"approver": [address]}, so every request of the stack's own state machine goes to all three with
RequiredApprovals 1: the first vote decides, and the others' links show the 410 afterwards.
Besides the stack's own state machine there are more from the same ASL file: a 3-second approval
timeout, a "team" one whose task passes the input's `Approval` block (CONTRACT.md) to send-email,
a "team" one with a 3-second timeout (all trusted: TRUSTED_STATE_MACHINE_ARNS), and one that is
not trusted; and examples/release-approval/'s ASL file as a caller deploys it (trusted, trusted
with a 3-second timeout, not trusted).

test_ses.py runs on a stack of its own (`ses_stack`, EMAIL_DELIVERY=ses, the same approvers), for
that module only; so do test_slack.py (`slack_stack`: SES email and Slack DMs) and
test_slack_channel.py (`slack_channel_stack`: no email, one Slack channel message). moto's mock is
process-wide, so two stacks cannot run at once in one process: those tests run first, a module at
a time (each module-scoped stack stops before the next one starts), and the session's stack after
them. Tests that ask for no stack fixture (test_slack_emulator.py) start none."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import helpers  # noqa: E402
import localstack  # noqa: E402

E2E_WORK_DIR = localstack.REPO_ROOT / ".local-stack" / "e2e"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "after_all_other_tests: runs once every other e2e test has run (it inspects what they left behind)"
    )
    config.addinivalue_line(
        "markers", "own_stack: runs on a stack of its own, before the session's stack starts (one stack per process)"
    )


def _order(item: pytest.Item) -> int:
    if item.get_closest_marker("own_stack") is not None:
        return 0
    return 2 if item.get_closest_marker("after_all_other_tests") is not None else 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Stable partition, whatever -k or file order says: the tests on a stack of their own first
    # (their module-scoped stack stops before the session's starts), the tests that inspect the
    # session's logs last.
    items.sort(key=_order)


def _progress(message: str) -> None:
    # Straight to the terminal, past pytest's capture: a cold build is minutes of otherwise silence.
    print(f"==> e2e: {message}", file=sys.__stderr__, flush=True)


@pytest.fixture(scope="session")
def stack() -> Any:
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # failed states are expected here
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    config = localstack.StackConfig(
        moto_port=localstack.free_port(),
        lambda_port=localstack.free_port(),
        page_port=localstack.free_port(),
        approvers=helpers.APPROVERS,
        approval_timeout_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        default_expiry_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        extra_state_machines=helpers.EXTRA_STATE_MACHINES,
        work_dir=E2E_WORK_DIR,
        # As much as the functions will log (they cap the SDK and runtime themselves): the
        # no-token test then covers their debug lines too.
        function_log_level="debug",
    )
    started = time.monotonic()
    with localstack.LocalStack(config, progress=_progress) as running:
        _progress(f"local stack ready in {time.monotonic() - started:.0f}s")
        yield running
        _progress(f"stopping the local stack (function logs kept in {running.functions_log_path})")


@pytest.fixture(scope="module")
def ses_stack() -> Any:
    """The same approvers, email through SES (EMAIL_DELIVERY=ses, from helpers.SES_SENDER): no topic;
    each approver's inbox reads what moto's SES sent them. For the `own_stack` tests of one module."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    config = localstack.StackConfig(
        moto_port=localstack.free_port(),
        lambda_port=localstack.free_port(),
        page_port=localstack.free_port(),
        approvers=helpers.APPROVERS,
        approval_timeout_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        default_expiry_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        extra_state_machines=(helpers.TEAM, helpers.SHORT_TIMEOUT),
        email_delivery="ses",
        sender_address=helpers.SES_SENDER,
        work_dir=helpers.SES_WORK_DIR,
        function_log_level="debug",
    )
    started = time.monotonic()
    with localstack.LocalStack(config, progress=_progress) as running:
        _progress(f"SES stack ready in {time.monotonic() - started:.0f}s")
        yield running
        _progress(f"stopping the SES stack (function logs kept in {running.functions_log_path})")


@pytest.fixture
def pending_approval(stack: localstack.LocalStack, request: pytest.FixtureRequest) -> helpers.PendingApproval:
    return helpers.start_and_wait_for_email(stack, request.node.name)


def _slack_stack(work_dir: Path, **settings: Any) -> Any:
    """A stack of its own with Slack on (the session's approvers and state machines a Slack test
    needs), for the `own_stack` tests of one module."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    config = localstack.StackConfig(
        moto_port=localstack.free_port(),
        lambda_port=localstack.free_port(),
        page_port=localstack.free_port(),
        approvers=helpers.APPROVERS,
        approval_timeout_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        default_expiry_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        extra_state_machines=(helpers.TEAM, helpers.SHORT_TIMEOUT),
        work_dir=work_dir,
        function_log_level="debug",
        **settings,
    )
    return localstack.LocalStack(config, progress=_progress)


@pytest.fixture(scope="module")
def slack_stack() -> Any:
    """Slack DMs (SLACK_DELIVERY=dm, the emulator: `slack_stack.slack`) beside SES email, so an
    approver can vote either way. For test_slack.py's `own_stack` tests."""
    started = time.monotonic()
    with _slack_stack(helpers.SLACK_WORK_DIR, email_delivery="ses", sender_address=helpers.SES_SENDER,
                      slack_delivery="dm") as running:
        _progress(f"Slack DM stack ready in {time.monotonic() - started:.0f}s")
        yield running
        _progress(f"stopping the Slack DM stack (function logs kept in {running.functions_log_path})")


@pytest.fixture(scope="module")
def slack_channel_stack() -> Any:
    """Slack only, one message in the stack's channel (SLACK_DELIVERY=channel, EMAIL_DELIVERY=none).
    For test_slack_channel.py's `own_stack` tests."""
    started = time.monotonic()
    with _slack_stack(helpers.SLACK_CHANNEL_WORK_DIR, email_delivery="none", slack_delivery="channel") as running:
        _progress(f"Slack channel stack ready in {time.monotonic() - started:.0f}s")
        yield running
        _progress(f"stopping the Slack channel stack (function logs kept in {running.functions_log_path})")
