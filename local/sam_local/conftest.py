"""Fixtures of the sam local tests: the local stack (as the e2e suite starts it, two approvers)
and `SamLocal` (sam_runner.py). Run by scripts/sam-local."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from sam_runner import WORK_DIR, SamLocal, _progress  # first: it puts local/ and local/tests/ on sys.path

# isort: split
import helpers
import localstack


@pytest.fixture(scope="session")
def stack() -> Any:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    config = localstack.StackConfig(
        moto_port=localstack.free_port(), lambda_port=localstack.free_port(), page_port=localstack.free_port(),
        approvers=helpers.APPROVERS[:2], approval_timeout_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S,
        default_expiry_seconds=helpers.SESSION_APPROVAL_TIMEOUT_S, work_dir=WORK_DIR,
    )
    started = time.monotonic()
    with localstack.LocalStack(config, progress=_progress) as running:
        _progress(f"local stack ready in {time.monotonic() - started:.0f}s")
        yield running


@pytest.fixture(scope="session")
def sam(stack: localstack.LocalStack) -> SamLocal:
    (WORK_DIR / "sam.log").unlink(missing_ok=True)
    return SamLocal(stack, WORK_DIR)
