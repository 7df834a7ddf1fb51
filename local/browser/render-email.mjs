// An approval email's HTML part as a mail client shows it: Debian's headless Chromium (driven by
// playwright-core), scripts off, nothing fetched from the network.
//
//   node render-email.mjs <html-file> <screenshot-path>
//
// Loads the HTML (as a mail client does: no URL of its own, JavaScript disabled), refuses and
// records every request it would make (a remote image, a stylesheet, a font), saves a screenshot
// and prints one JSON line on stdout:
//   {"anchors": [{"text", "href", "visible", "width", "height"}], "requests": [...], "text": "...", "screenshot": "..."}
// Exits non-zero, with the reason on stderr, if the page cannot be rendered.

import { mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 30_000;

const [htmlArg, screenshotArg] = process.argv.slice(2);
if (!htmlArg || !screenshotArg) {
  console.error("render-email: usage: node render-email.mjs <html-file> <screenshot-path>");
  process.exit(2);
}
const html = readFileSync(resolve(htmlArg), "utf8");
const screenshotPath = resolve(screenshotArg);

// Chromium's background traffic off, as in click-approve.mjs: the machine's network is closed.
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
  const context = await browser.newContext({ viewport: { width: 820, height: 400 }, javaScriptEnabled: false });
  const requests = [];
  await context.route("**/*", (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  await page.setContent(html, { waitUntil: "load" });
  const anchors = [];
  for (const anchor of await page.locator("a[href]").all()) {
    const box = await anchor.boundingBox();
    anchors.push({
      text: (await anchor.innerText()).trim(),
      href: await anchor.getAttribute("href"),
      visible: await anchor.isVisible(),
      width: box ? box.width : 0,
      height: box ? box.height : 0,
    });
  }
  const text = await page.locator("body").innerText();
  mkdirSync(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  console.log(JSON.stringify({ anchors, requests, text, screenshot: screenshotPath }));
} catch (err) {
  console.error(`render-email: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
