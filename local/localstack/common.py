"""What every module of the local stack shares: where the repository is, the emulated account,
and the one error type the stack raises."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
ASL_PATH = REPO_ROOT / "statemachine" / "human-approval.asl.json"

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account

SEND_EMAIL_FUNCTION = "send-email"
CALLBACK_FUNCTION = "approval-callback"


class StackError(RuntimeError):
    """The local stack could not be started or did not behave; the message says what and where."""
