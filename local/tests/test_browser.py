"""A real browser: Debian's headless Chromium (driven by playwright-core) clicks Approve."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import localstack
from helpers import APPROVER, output_json, record, start_and_wait_for_email, states_entered

BROWSER_DIR = localstack.REPO_ROOT / "local" / "browser"
# The screenshot goes beside the session's logs; UPDATE_DOCS_SCREENSHOT=1 writes the docs' copy
# (docs/confirmation-page.png) instead, so a test run leaves the tree as it found it.
SCREENSHOT = (localstack.REPO_ROOT / "docs" / "confirmation-page.png" if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1"
              else localstack.REPO_ROOT / ".local-stack" / "e2e" / "confirmation-page.png")
COMMENT = "Release notes checked; good to go."
SCREENSHOT_EXECUTION_NAME = "deploy-release-42"


def test_chromium_approves_through_the_confirmation_page(stack: localstack.LocalStack) -> None:
    # A fixed execution name (unique within the session's fresh moto): the docs' screenshot then
    # only changes when the page does.
    pending = start_and_wait_for_email(stack, SCREENSHOT_EXECUTION_NAME, unique_suffix=False)
    node = shutil.which("node")
    assert node, "node is not on PATH (scripts/e2e installs what this test needs)"
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), \
        "run `npm ci` in local/browser (scripts/e2e does)"

    run = subprocess.run(
        [node, str(BROWSER_DIR / "click-approve.mjs"), pending.email.approve_url, COMMENT, str(SCREENSHOT),
         pending.execution_name],
        cwd=BROWSER_DIR, capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, f"click-approve.mjs failed ({run.returncode}):\n{run.stderr}"
    report = json.loads(run.stdout.strip().splitlines()[-1])

    # The browser followed the 303 to the redirect target, and the screenshot is a PNG.
    assert report["finalUrl"] == stack.redirect_url
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    description = stack.wait_for_end(pending.execution_arn)
    assert description["status"] == "SUCCEEDED"
    assert states_entered(stack.history(pending.execution_arn))[-1] == "ApprovedPassState"
    output = output_json(description)
    assert (output["Decision"], output["Approver"], output["Comment"]) == ("approved", APPROVER, COMMENT)
    assert [v["Comment"] for v in record(stack, pending)["Votes"]] == [COMMENT]
