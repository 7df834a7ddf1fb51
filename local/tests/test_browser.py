"""A real browser: Debian's headless Chromium (driven by playwright-core) clicks Approve."""

from __future__ import annotations

import json
import shutil
import subprocess

import stack as local_stack
from helpers import output_json, start_and_wait_for_email, states_entered

BROWSER_DIR = local_stack.REPO_ROOT / "local" / "browser"
SCREENSHOT = local_stack.REPO_ROOT / "docs" / "confirmation-page.png"
COMMENT = "Release notes checked; good to go."
SCREENSHOT_EXECUTION_NAME = "deploy-release-42"


def test_chromium_approves_through_the_confirmation_page(stack: local_stack.LocalStack) -> None:
    # A fixed execution name (unique within the session's fresh moto): the screenshot of this page
    # goes into the README, and this way it only changes when the page does.
    pending_approval = start_and_wait_for_email(stack, SCREENSHOT_EXECUTION_NAME, unique_suffix=False)
    node = shutil.which("node")
    assert node, "node is not on PATH (scripts/e2e installs what this test needs)"
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), "run `npm ci` in local/browser (scripts/e2e does)"

    run = subprocess.run(
        [node, str(BROWSER_DIR / "click-approve.mjs"), pending_approval.email.approve_url, COMMENT, str(SCREENSHOT)],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, f"click-approve.mjs failed ({run.returncode}):\n{run.stderr}"
    report = json.loads(run.stdout.strip().splitlines()[-1])

    # The browser followed the 303 to the redirect target, and the screenshot is a PNG.
    assert report["finalUrl"] == stack.redirect_url
    assert report["executionName"] == pending_approval.execution_name
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    description = stack.wait_for_end(pending_approval.execution_arn)
    assert description["status"] == "SUCCEEDED"
    assert states_entered(stack.history(pending_approval.execution_arn))[-1] == "ApprovedPassState"
    output = output_json(description)
    assert output["Decision"] == "approved"
    assert output["Comment"] == COMMENT
