"""One local stack (moto + cargo lambda watch) for the whole e2e session: built and started once."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import helpers  # noqa: E402
import stack as local_stack  # noqa: E402

APPROVER_EMAIL = helpers.APPROVER_EMAIL
# Long enough that no test's execution times out by accident; the timeout test has its own machine.
SESSION_APPROVAL_TIMEOUT_S = 600
SHORT_APPROVAL_TIMEOUT_S = 3
E2E_WORK_DIR = local_stack.REPO_ROOT / ".local-stack" / "e2e"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "after_all_other_tests: runs once every other e2e test has run (it inspects what they left behind)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Stable partition: tests that inspect the session's logs go last, whatever -k or file order says.
    items.sort(key=lambda item: item.get_closest_marker("after_all_other_tests") is not None)


def _progress(message: str) -> None:
    # Straight to the terminal, past pytest's capture: a cold build is minutes of otherwise silence.
    print(f"==> e2e: {message}", file=sys.__stderr__, flush=True)


@pytest.fixture(scope="session")
def stack() -> Any:
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # failed states are expected here
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    config = local_stack.StackConfig(
        moto_port=local_stack.free_port(),
        lambda_port=local_stack.free_port(),
        page_port=local_stack.free_port(),
        approver_email=APPROVER_EMAIL,
        approval_timeout_seconds=SESSION_APPROVAL_TIMEOUT_S,
        work_dir=E2E_WORK_DIR,
        # As much as the functions will log (they cap themselves at debug, the SDK and runtime at
        # info): the no-token test then covers their debug lines too.
        function_log_level="debug",
    )
    started = time.monotonic()
    with local_stack.LocalStack(config, progress=_progress) as running:
        _progress(f"local stack ready in {time.monotonic() - started:.0f}s")
        yield running
        _progress(f"stopping the local stack (function logs kept in {running.functions_log_path})")


@pytest.fixture(scope="session")
def short_timeout_state_machine(stack: local_stack.LocalStack) -> str:
    """A second state machine from the same ASL file on the same stack, approval timeout 3 s."""
    return stack.create_state_machine("ShortApprovalTimeoutStateMachine", SHORT_APPROVAL_TIMEOUT_S)


@pytest.fixture
def pending_approval(stack: local_stack.LocalStack, request: pytest.FixtureRequest) -> helpers.PendingApproval:
    return helpers.start_and_wait_for_email(stack, request.node.name)


