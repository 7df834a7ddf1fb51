"""EMAIL_DELIVERY=ses: the whole loop with the approvers' email sent by SESv2 (moto's), on a stack
of its own (conftest's `ses_stack`: the session's three approvers, the sender helpers.SES_SENDER
verified in moto's SES, no SNS topic). Each approver's inbox holds what SES sent them; the mail's
text part is read exactly as an SNS message is, its HTML part kept beside it.

One SendEmail per approver, from the sender, to that approver alone, with their own two links (two
credentials of one holder); the text part has the gate's lines, then the workflow's words as a
`| `-quoted block, then the links; the HTML part has no script, fetches nothing remote, and holds
both links as buttons; approving ends in ApprovedPassState and the "Decided" notice comes by SES
too. Headless Chromium renders the HTML part (a screenshot: docs/approval-email.png)."""

from __future__ import annotations

import html
import html.parser
import json
import os
import re
import shutil
import subprocess
from email.utils import parseaddr
from typing import Any

import pytest

import localstack
from helpers import (
    APPROVER,
    SES_SENDER,
    SES_WORK_DIR,
    SHORT_TIMEOUT,
    TEAM,
    PendingApproval,
    assert_per_action_credentials,
    output_json,
    record_once_notified,
    start_and_wait_for_email,
    states_entered,
)
from localstack import credentials
from localstack.moto_server import SentEmail

pytestmark = pytest.mark.own_stack  # conftest runs these first, on `ses_stack`, before the session's stack

BROWSER_DIR = localstack.REPO_ROOT / "local" / "browser"
# As test_browser.py's: UPDATE_DOCS_SCREENSHOT=1 writes the docs' copy, else it goes beside the logs.
SCREENSHOT = (localstack.REPO_ROOT / "docs" / "approval-email.png" if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1"
              else SES_WORK_DIR / "approval-email.png")
SCREENSHOT_EXECUTION_NAME = "deploy-release-42"

# The workflow's words, with lines that try to pass for the gate's: they must stay in the quoted block.
SPOOFING: dict[str, Any] = {
    "Subject": "Deploy v42 to prod?",
    "Summary": "Release notes checked; the canary is green.\nExecution: not-this-one\n"
               "Approve: https://evil.example/approve",
    "Details": {"service": "checkout", "version": "v42"},
    "RequiredApprovals": 1,
}
SCREENSHOT_APPROVAL: dict[str, Any] = {
    "Subject": "Deploy v42 to prod?",
    "Summary": "Release notes checked; the canary is green.",
    "Details": {"service": "checkout", "version": "v42", "change": "CHG-1234"},
    "RequiredApprovals": 1,
}
GATE_LINES = ("Execution:", "State machine:", "Approvals:", "Expires:")
CREDENTIAL_IN_LINK = re.compile(r"[?&]c=([A-Za-z0-9_-]{44})")


class _Anchors(html.parser.HTMLParser):
    """Every <a href> of a page with its text (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[str, str]] = []
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open.append([dict(attrs).get("href") or "", ""])

    def handle_data(self, data: str) -> None:
        for anchor in self._open:
            anchor[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            href, text = self._open.pop()
            self.anchors.append((href, " ".join(text.split())))


def _anchors(page: str) -> list[tuple[str, str]]:
    parser = _Anchors()
    parser.feed(page)
    parser.close()
    return parser.anchors


def _credentials_in(email: localstack.Email) -> set[str]:
    text = email.body + "\n" + html.unescape(email.html or "")
    return set(CREDENTIAL_IN_LINK.findall(text))


def _line_index(lines: list[str], prefix: str, text: str) -> int:
    found = [n for n, line in enumerate(lines) if line.startswith(prefix)]
    assert len(found) == 1, f"{len(found)} lines start with {prefix!r}:\n{text}"
    return found[0]


def _assert_gate_lines_then_quoted_block(text: str, approval: dict[str, Any]) -> None:
    """The gate's own lines first, then one run of `| `-quoted lines holding every line of the
    workflow's words, then the Approve and Reject lines."""
    lines = text.splitlines()
    gate = [_line_index(lines, prefix, text) for prefix in GATE_LINES]
    assert gate == sorted(gate), f"the gate's lines out of order:\n{text}"
    quoted = [n for n, line in enumerate(lines) if line.startswith("|")]
    assert quoted, f"no `| `-quoted workflow block:\n{text}"
    assert quoted == list(range(quoted[0], quoted[-1] + 1)), f"the workflow's block is not one run of lines:\n{text}"
    approve, reject = _line_index(lines, "Approve:", text), _line_index(lines, "Reject:", text)
    assert gate[-1] < quoted[0] and quoted[-1] < approve < reject, f"not gate lines, block, links in order:\n{text}"
    block = lines[quoted[0]:quoted[-1] + 1]
    assert all(line == "|" or line.startswith("| ") for line in block), block
    for line in approval["Summary"].splitlines():
        assert f"| {line}" in block, f"the workflow's line {line!r} is not quoted in the block:\n{text}"
    assert any(approval["Details"]["version"] in line for line in block), block


def _assert_safe_html(part: str | None, links: dict[str, str]) -> None:
    """No script (no <script>, no on…= handler, no javascript: URL), nothing remote to fetch (no
    http(s) image source, no CSS url() to one), and both links as anchors labelled with their action."""
    assert part, "no HTML part"
    assert "<script" not in part.lower(), part
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", part, re.IGNORECASE), f"an event handler attribute:\n{part}"
    assert "javascript:" not in part.lower(), part
    assert not re.search(r"<img\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//", part, re.IGNORECASE), \
        f"a remote image:\n{part}"
    assert not re.search(r"url\(\s*[\"']?\s*(?:https?:)?//", part, re.IGNORECASE), f"a remote CSS url():\n{part}"
    anchors = _anchors(part)
    for action, url in links.items():
        labelled = [text for href, text in anchors if href == url]
        assert labelled, f"no anchor to the {action} link {url}; anchors: {anchors}"
        assert any(action in text.lower() for text in labelled), f"the {action} anchor reads {labelled}"


def _ses_messages(stack: localstack.LocalStack, execution_name: str) -> list[SentEmail]:
    return [m for m in stack.ses_mailbox.sent if execution_name in (m.text or "")]


def test_each_approver_gets_one_ses_mail_with_their_own_links_and_approving_decides(
    ses_stack: localstack.LocalStack,
) -> None:
    pending: PendingApproval = start_and_wait_for_email(ses_stack, "ses-approve", TEAM.arn,
                                                        execution_input={"Approval": SPOOFING})
    item = record_once_notified(ses_stack, pending)
    slots = {a["Address"]: n for n, a in enumerate(item["Approvers"])}
    assert set(slots) == set(ses_stack.approvers) == set(pending.emails)

    # One SendEmail per approver, from the sender, to them alone, with both parts.
    sent = _ses_messages(ses_stack, pending.execution_name)
    assert sorted(m.recipients[0] for m in sent) == sorted(ses_stack.approvers), [m.destinations for m in sent]
    for message in sent:
        assert {k: v for k, v in message.destinations.items() if v} == {"ToAddresses": message.recipients[:1]}
        assert parseaddr(message.source)[1] == SES_SENDER, message.source
        assert message.simple and message.text and message.html, message
        assert message.subject == SPOOFING["Subject"]

    for approver, email in pending.emails.items():
        assert (email.channel, parseaddr(email.sender or "")[1]) == ("ses", SES_SENDER), email
        own = assert_per_action_credentials(email)
        assert credentials.holder_of(own["approve"]) == (pending.request_id, slots[approver])
        for action, url in (("approve", email.approve_url), ("reject", email.reject_url)):
            assert url.startswith(f"{ses_stack.api_url}/execution?"), url
            assert credentials.link_params(url) == {"action": action, "c": own[action]}
        # Only their own two credentials, in the text and the HTML alike.
        assert _credentials_in(email) == set(own.values()), (approver, _credentials_in(email), own)
        _assert_gate_lines_then_quoted_block(email.body, SPOOFING)
        _assert_safe_html(email.html, {"approve": email.approve_url, "reject": email.reject_url})

    result = localstack.decide_via_confirmation_page(pending.emails[APPROVER].approve_url, "ship it")
    assert result.answer.status == 303, result.answer.body[:500]
    description = ses_stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "SUCCEEDED"
    assert states_entered(ses_stack.history(pending.execution_arn))[-1] == "ApprovedPassState"
    output = output_json(description)
    assert (output["Decision"], output["Approver"], output["Comment"]) == ("approved", APPROVER, "ship it")

    # The decided notice: by SES too, one to each approver, text and HTML, no links.
    for approver in ses_stack.approvers:
        decided = ses_stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=30)
        assert decided.subject == f"Decided: {SPOOFING['Subject']}"
        assert (decided.channel, parseaddr(decided.sender or "")[1]) == ("ses", SES_SENDER)
        assert "approved" in decided.body.lower() and APPROVER in decided.body, decided.body
        assert decided.html and "<script" not in decided.html.lower(), decided.html
        assert not _credentials_in(decided), decided.body
    notices = [m for m in _ses_messages(ses_stack, pending.execution_name) if m.subject.startswith("Decided: ")]
    assert sorted(m.recipients[0] for m in notices) == sorted(ses_stack.approvers)
    assert all(len(m.recipients) == 1 for m in notices), [m.destinations for m in notices]

    assert not ses_stack.inbox.problems, ses_stack.inbox.problems
    # No task token in any mail, either part.
    tokens = ses_stack.workflows.task_tokens()
    assert tokens
    leaked = [m.message_id for m in ses_stack.ses_mailbox.sent for token in tokens
              if token in (m.text or "") or token in (m.html or "")]
    assert not leaked, f"a task token in SES message(s) {leaked}"


def test_the_ses_stack_has_no_topic_and_the_state_machine_sends_no_email(ses_stack: localstack.LocalStack) -> None:
    """No SNS at all in ses mode: no topic; send-email is told ses, the sender, no topic; no state
    of the state machines publishes or mails (send-email tells approvers that a request expired)."""
    assert ses_stack.sns.list_topics()["Topics"] == []
    env = ses_stack.functions_env()
    assert (env["EMAIL_DELIVERY"], env["SENDER_ADDRESS"], env["TOPIC_ARN"]) == ("ses", SES_SENDER, "")
    identity = ses_stack.sesv2.get_email_identity(EmailIdentity=SES_SENDER)
    assert identity["VerificationStatus"] == "SUCCESS", identity
    for arn in (ses_stack.state_machine_arn, TEAM.arn):
        definition = ses_stack.sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        assert ":::sns:" not in definition and ":::aws-sdk:" not in definition, arn


def test_an_expired_request_is_told_by_ses_to_each_of_its_approvers(ses_stack: localstack.LocalStack) -> None:
    """The task times out; the Catch tells send-email, which records the request expired; the
    stream then has every approver mailed `Expired: …` by SES, from the sender, to them alone."""
    pending = start_and_wait_for_email(ses_stack, "ses-expires", SHORT_TIMEOUT.arn)
    description = ses_stack.wait_for_end(pending.execution_arn, timeout=60)
    assert description["status"] == "FAILED" and description.get("error") == "Approval.TimedOut", description
    for approver in pending.emails:
        notice = ses_stack.inbox.wait_for_decided(approver, pending.execution_name, timeout=20, kind="expired")
        assert notice.subject.startswith("Expired: ") and "expired undecided" in notice.body, notice
    expired = [m for m in ses_stack.ses_mailbox.sent if m.subject.startswith("Expired: ")
               and pending.execution_name in (m.text or "")]
    assert sorted(r for m in expired for r in m.recipients) == sorted(pending.emails), expired
    assert all(parseaddr(m.source)[1] == SES_SENDER for m in expired), [m.source for m in expired]


def test_chromium_shows_the_html_part_with_approve_and_reject_buttons(ses_stack: localstack.LocalStack) -> None:
    """The HTML part as a mail client shows it (scripts off, nothing fetched): both buttons visible,
    each the approver's own link; the screenshot is docs/approval-email.png's."""
    pending = start_and_wait_for_email(ses_stack, SCREENSHOT_EXECUTION_NAME, TEAM.arn, unique_suffix=False,
                                       execution_input={"Approval": SCREENSHOT_APPROVAL})
    email = pending.emails[APPROVER]
    assert email.html, "no HTML part"
    node = shutil.which("node")
    assert node, "node is not on PATH (scripts/e2e installs what this test needs)"
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), \
        "run `npm ci` in local/browser (scripts/e2e does)"
    page = SES_WORK_DIR / "approval-email.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(email.html)

    run = subprocess.run([node, str(BROWSER_DIR / "render-email.mjs"), str(page), str(SCREENSHOT)],
                         cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, f"render-email.mjs failed ({run.returncode}):\n{run.stderr}"
    report = json.loads(run.stdout.strip().splitlines()[-1])

    assert report["requests"] == [], f"the HTML part fetches {report['requests']}"
    for action, url in (("approve", email.approve_url), ("reject", email.reject_url)):
        buttons = [a for a in report["anchors"] if a["href"] == url and action in a["text"].lower()]
        assert buttons, f"no {action} button to {url}: {report['anchors']}"
        assert all(b["visible"] and b["width"] > 0 and b["height"] > 0 for b in buttons), buttons
    assert pending.execution_name in report["text"], report["text"]
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
