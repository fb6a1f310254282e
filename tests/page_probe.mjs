// Loads a packed output's index.html (served by `pyodide-pack serve`) in headless Chromium and
// reports what the page shows once it has finished: tests/suite/page.rs runs it.
//
// Usage: node page_probe.mjs SPEC.json
// SPEC: {
//   chromium: PATH, driver: DIR,   the browser, and the npm prefix holding puppeteer-core
//   url: URL,                      the page
//   loopback_only: bool,           fail (and list) every request that leaves 127.0.0.1
//   cdn: {prefix: URL, dir: DIR} | null,
//                                  answer requests under `prefix` from the files of `dir`, as the
//                                  CDN would (this machine cannot reach the CDN)
//   screenshot: PATH | null,       a PNG of the finished page
//   timeout_ms: N
// }
// Prints {state, status, output, title, outside: [URL...], console: [text...]}.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(spec.driver, "node_modules", "noop.js"));
const puppeteer = require("puppeteer-core");

const TYPES = { ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

// Every host name resolves to nothing (127.0.0.1 is no name): what leaves loopback fails, from the
// page and from its workers alike.
const browser = await puppeteer.launch({
  executablePath: spec.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", ...(spec.loopback_only ? ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"] : [])],
});
const result = { state: null, status: null, output: null, title: null, outside: [], console: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 300 });
  page.on("console", (m) => result.console.push(m.text()));
  page.on("pageerror", (e) => result.console.push(`page error: ${e.message}`));
  page.on("response", (r) => { if (r.status() >= 400) result.console.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on("requestfailed", (r) => {
    const { hostname } = new URL(r.url());
    if (hostname !== "127.0.0.1") result.outside.push(r.url());
  });
  if (spec.cdn) {
    // Only the CDN's URLs are paused (puppeteer's setRequestInterception would pause every
    // request, a module worker's own script among them, which it may never release).
    const cdp = await page.createCDPSession();
    cdp.on("Fetch.requestPaused", ({ requestId, request }) => {
      const file = path.join(spec.cdn.dir, request.url.slice(spec.cdn.prefix.length).split("?")[0]);
      const found = fs.existsSync(file);
      cdp.send("Fetch.fulfillRequest", {
        requestId,
        responseCode: found ? 200 : 404,
        responseHeaders: [
          { name: "Content-Type", value: TYPES[path.extname(file)] ?? "application/octet-stream" },
          { name: "Access-Control-Allow-Origin", value: "*" },
        ],
        body: found ? fs.readFileSync(file).toString("base64") : "",
      }).catch(() => {});
    });
    await cdp.send("Fetch.enable", { patterns: [{ urlPattern: spec.cdn.prefix + "*" }] });
  }
  await page.goto(spec.url, { waitUntil: "domcontentloaded", timeout: spec.timeout_ms });
  await page
    .waitForFunction(() => document.body.dataset.state !== "loading", { timeout: spec.timeout_ms })
    .catch((err) => { result.error = String(err?.message ?? err); });
  Object.assign(result, await page.evaluate(() => ({
    state: document.body.dataset.state,
    status: document.getElementById("status").textContent,
    output: document.getElementById("output").textContent,
    title: document.title,
  })));
  if (spec.screenshot) await page.screenshot({ path: spec.screenshot });
} catch (err) {
  result.error = String(err?.message ?? err);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
