// A person's click, in a real browser: Debian's headless Chromium driven by playwright-core.
//
//   node click-approve.mjs <approve-url> <comment> <screenshot-path> <execution-name>
//
// Opens the Approve link from the email (v2 links carry only `action` and the credential `c`, so
// the execution's name comes from the email), checks that the confirmation page names the execution
// and offers an Approve button, saves a screenshot of it, types the comment, clicks the button and
// waits for the redirect to be followed. Prints one JSON line on stdout:
//   {"finalUrl": "...", "executionName": "...", "screenshot": "..."}
// Exits non-zero, with the reason on stderr, if any of that does not happen.

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 30_000;

class CheckFailed extends Error {}
const browserErrors = [];

function fail(message) {
  throw new CheckFailed(message);
}

function usageFail(message) {
  console.error(`click-approve: ${message}`);
  process.exit(2);
}

const [approveUrl, comment, screenshotArg, executionName] = process.argv.slice(2);
if (!approveUrl || comment === undefined || !screenshotArg || !executionName) {
  usageFail("usage: node click-approve.mjs <approve-url> <comment> <screenshot-path> <execution-name>");
}
const link = new URL(approveUrl);
if (link.searchParams.get("action") !== "approve" || !link.searchParams.get("c")) {
  usageFail(`not an approve link with a credential: ${approveUrl}`);
}
const screenshotPath = resolve(screenshotArg);

// playwright's launch() gives Chromium a fresh, empty profile directory of its own each run.
// Chromium's background traffic is off: the machine's network is closed, and those connections
// would only be refused.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  const page = await browser.newPage({ viewport: { width: 820, height: 500 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  // What the browser itself refused (a Content-Security-Policy violation, say) goes into the failure.
  page.on("console", (message) => {
    browserErrors.push(`${message.type()}: ${message.text()}`);
  });

  const response = await page.goto(approveUrl, { waitUntil: "load" });
  if (!response || response.status() !== 200) {
    fail(`the approve link answered ${response ? response.status() : "nothing"}, expected the 200 confirmation page`);
  }
  const text = await page.locator("body").innerText();
  if (!text.includes(executionName)) {
    fail(`the confirmation page does not name the execution ${executionName}:\n${text}`);
  }
  const form = page.locator('form[method="post" i]');
  if ((await form.count()) !== 1) {
    fail(`expected one POST form on the confirmation page, found ${await form.count()}`);
  }
  const button = form.locator('button[type="submit"], button:not([type]), input[type="submit"]');
  if ((await button.count()) !== 1) {
    fail(`expected one submit button in the form, found ${await button.count()}`);
  }
  const buttonLabel = ((await button.first().innerText()) || (await button.first().getAttribute("value")) || "").trim();
  if (!/approve/i.test(buttonLabel)) {
    fail(`the submit button reads ${JSON.stringify(buttonLabel)}, expected an Approve button`);
  }

  const commentBox = form.locator('textarea[name="comment"]');
  await commentBox.fill(comment);
  mkdirSync(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });

  // The POST answers 303; the browser follows it to the redirect target.
  const approvalOrigin = link.origin;
  await Promise.all([
    page.waitForURL((url) => url.origin !== approvalOrigin, { waitUntil: "load" }),
    button.first().click(),
  ]);
  console.log(JSON.stringify({ finalUrl: page.url(), executionName, screenshot: screenshotPath }));
} catch (err) {
  // Our own checks read best as one sentence; anything else (a playwright timeout) with its stack.
  console.error(`click-approve: ${err instanceof CheckFailed ? err.message : err && err.stack ? err.stack : err}`);
  await new Promise((done) => setTimeout(done, 500)); // console events of the failed step may still be on their way
  for (const text of browserErrors) console.error(`click-approve: the browser said: ${text}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
