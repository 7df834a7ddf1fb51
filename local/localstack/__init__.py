"""The local stack: the approval gate on moto + `cargo lambda watch`, no AWS account.
One job per module; `stack.LocalStack` ties them together (see its docstring)."""

from . import slack_interactions, slack_text
from .common import CALLBACK_FUNCTION, REPO_ROOT, SEND_EMAIL_FUNCTION, StackError
from .credentials import credential_of, link_params, request_id_of
from .inbox import Email, parse_email
from .net import HttpResponse, free_port, http_request
from .pages import Decision, decide_via_confirmation_page, parse_confirmation_page, post_link
from .processes import install_signal_teardown
from .stack import LocalStack
from .stack_config import StackConfig
from .workflow import TUTORIAL_INPUT, StateMachineSpec

__all__ = [
    "CALLBACK_FUNCTION", "REPO_ROOT", "SEND_EMAIL_FUNCTION", "StackError", "credential_of", "link_params",
    "request_id_of", "Email", "parse_email", "HttpResponse", "free_port", "http_request", "Decision",
    "decide_via_confirmation_page", "parse_confirmation_page", "post_link", "LocalStack", "StackConfig",
    "install_signal_teardown", "TUTORIAL_INPUT", "StateMachineSpec", "slack_interactions", "slack_text",
]
