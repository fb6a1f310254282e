// Runs an app from a packed bundle in headless Chromium, the way a web page would: serves the
// bundle folder, the runtime and the app over HTTP on a loopback port, opens a page that imports
// the bundle's loader.mjs (on the main thread, or in a module worker), runs the app, and records
// its output, the load-time breakdown, and what the browser reported (console messages, uncaught
// errors, DevTools issues). The browser validation harness of `pyodide-pack validate --browser`.
//
// Usage: node run_browser.mjs SPEC.json (common.mjs, browser_page.mjs and runner.py beside it)
// SPEC: {
//   bundle_dir: DIR,                   the packed folder (loader.mjs, bundle.zip, ...)
//   runtime: DIR,                      the Pyodide distribution, served as the loader's indexURL
//   runs: [{                           run one after another, each in a fresh browser context
//     files: [[SOURCE, DEST]...],      the entry script (and input), written into Pyodide's FS
//     entry: DEST, input: DEST | null,
//     mode: "main" | "worker",
//   }...],
//   isolate: bool,                     COOP/COEP headers: the pages are cross-origin isolated
//   chromium: PATH, driver: DIR,       the browser, and the npm prefix holding puppeteer-core
//   timeout_ms: N,                     each page must be done by then
//   out: PATH                          the JSON record, written atomically
// }
// Record: { runs: [one record per run made], error } where a run's record is { stdout, stderr,
// error, timings, console, page_errors, issues, failed_requests, lazy_fetched, isolated }; the
// runs stop at the first that fails, and `error` is set when the browser could not run them.
// One browser serves every run (its start is seconds of a validation); each run has a context of
// its own, so no run finds another's cache or storage.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { errorLine, launchChromium, MIME, mimeOf, start } from "./common.mjs";

const batch = { runs: [], error: null };
const { spec, finish } = start(batch, { onParentGone: () => browser?.close() });
const here = path.dirname(fileURLToPath(import.meta.url));

// What the pages may fetch: URL prefix -> folder. Nothing outside these folders is served.
const roots = [
  ["/bundle/", spec.bundle_dir],
  ["/runtime/", spec.runtime],
  ["/harness/", here],
];

function page(config) {
  // The config is data: as JSON inside the script, with "<" escaped so no text ends the script.
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  return `<!doctype html>
<meta charset="utf-8"><link rel="icon" href="data:,"><title>pyodide-pack validation</title>
<script type="module">
const config = ${json};
const emit = (message) => window.__ppEmit(message);
emit({ type: "start", origin: performance.timeOrigin, at: performance.timeOrigin + performance.now() });
if (config.mode === "worker") {
  const worker = new Worker("/harness/browser_page.mjs", { type: "module" });
  worker.onmessage = (event) => emit(event.data);
  worker.onerror = (event) => emit({ type: "error", kind: "page", message: "worker: " + (event.message || "failed to start") });
  worker.postMessage(config);
} else {
  const { runApp } = await import("/harness/browser_page.mjs");
  await runApp(config, emit);
}
</script>
`;
}

function resolveFile(urlPath) {
  const app = urlPath.match(/^\/app\/(\d+)\/(\d+)$/);
  if (app) return spec.runs[Number(app[1])]?.files[Number(app[2])]?.[0] ?? null;
  for (const [prefix, dir] of roots) {
    if (!urlPath.startsWith(prefix)) continue;
    const root = path.resolve(dir);
    const file = path.resolve(root, "." + path.posix.normalize("/" + urlPath.slice(prefix.length)));
    return file.startsWith(root + path.sep) ? file : null;
  }
  return null;
}

// run i's page is /run/i/.
function serve(configs) {
  const headers = { "Cache-Control": "no-store" };
  if (spec.isolate) {
    headers["Cross-Origin-Opener-Policy"] = "same-origin";
    headers["Cross-Origin-Embedder-Policy"] = "require-corp";
    headers["Cross-Origin-Resource-Policy"] = "same-origin";
  }
  return http.createServer((req, res) => {
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    const run = urlPath.match(/^\/run\/(\d+)\/$/);
    if (run && configs[Number(run[1])]) {
      res.writeHead(200, { ...headers, "Content-Type": MIME[".html"] }).end(page(configs[Number(run[1])]));
      return;
    }
    const file = resolveFile(urlPath);
    fs.stat(file ?? "", (err, stat) => {
      if (err || !stat.isFile()) {
        res.writeHead(404, { ...headers, "Content-Type": MIME[".txt"] }).end("not found\n");
        return;
      }
      const type = mimeOf(file);
      res.writeHead(200, { ...headers, "Content-Type": type, "Content-Length": stat.size });
      fs.createReadStream(file).pipe(res);
    });
  });
}

/// A DevTools issue by name: its code, and the specific kind where the details give one.
function issueName(issue) {
  for (const details of Object.values(issue.details ?? {})) {
    const kind = details?.type ?? details?.violationType ?? details?.reason;
    if (typeof kind === "string") return `${issue.code}: ${kind}`;
  }
  return issue.code;
}

let browser;
let server;
async function close(code) {
  // The browser is closed before Node exits, but never waited on for long.
  await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 3000))]).catch(() => {});
  server?.close();
  finish(code);
}

async function main() {
  const configs = spec.runs.map((run, i) => ({
    mode: run.mode,
    loader: "/bundle/loader.mjs",
    indexURL: "/runtime/",
    runner: "/harness/runner.py",
    files: run.files.map(([, dest], j) => [`/app/${i}/${j}`, dest]),
    entry: run.entry,
    input: run.input ?? null,
  }));
  server = serve(configs);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  // Absolute URLs: a module worker resolves relative ones against its own script.
  for (const config of configs) {
    for (const key of ["loader", "indexURL", "runner"]) config[key] = origin + config[key];
    config.files = config.files.map(([url, dest]) => [origin + url, dest]);
  }

  try {
    browser = await launchChromium(spec);
  } catch (err) {
    batch.error = { kind: "browser", message: err.message };
    return close(1);
  }
  for (const [i, config] of configs.entries()) {
    const record = {
      stdout: "", stderr: "", error: null, timings: {},
      console: [], page_errors: [], issues: [], failed_requests: [], lazy_fetched: [],
    };
    batch.runs.push(record);
    const context = await browser.createBrowserContext();
    try {
      await runPage(context, `${origin}/run/${i}/`, record);
    } catch (err) {
      record.error ??= { kind: "browser", message: errorLine(err) };
    } finally {
      await context.close().catch(() => {});
    }
    if (record.error) return close(1);
  }
  return close(0);
}

// One run: the page at `url` in a new tab of `context`, until it is done or the time is up.
async function runPage(context, url, record) {
  const tab = await context.newPage();
  const onConsole = (where) => (message) => {
    const type = message.type() === "warning" ? "warn" : message.type();
    const url = message.location()?.url;
    record.console.push({ type, where, text: message.text(), url: url || null });
  };
  tab.on("console", onConsole("page"));
  const onIssue = ({ issue }) => record.issues.push(issueName(issue));
  tab.on("workercreated", (worker) => {
    worker.on("console", onConsole("worker"));
    // A worker's issues are its own target's; enabling the domain replays those already raised.
    worker.client?.on("Audits.issueAdded", onIssue);
    worker.client?.send("Audits.enable").catch(() => {});
  });
  tab.on("pageerror", (err) => record.page_errors.push(errorLine(err)));
  tab.on("requestfailed", (req) => record.failed_requests.push(`${req.url()}: ${req.failure()?.errorText}`));
  tab.on("response", (res) => {
    if (res.status() >= 400) record.failed_requests.push(`${res.url()}: HTTP ${res.status()}`);
  });
  const devtools = await tab.createCDPSession();
  devtools.on("Audits.issueAdded", onIssue);
  await devtools.send("Audits.enable");

  let pageOrigin = null;
  let firstOutput = null;
  let resolve;
  const outcome = new Promise((r) => { resolve = r; });
  await tab.exposeFunction("__ppEmit", (event) => {
      switch (event.type) {
        case "start":
          pageOrigin = event.origin;
          record.timings.page_ms = event.at - event.origin;
          break;
        case "stdout":
          firstOutput ??= event.at;
          record.stdout += event.line + "\n";
          break;
        case "stderr":
          record.stderr += event.line + "\n";
          break;
        case "lazy":
          record.lazy_fetched.push({ path: event.path, bytes: event.bytes, ms: event.ms });
          break;
        case "done":
          Object.assign(record.timings, event.timings);
          if (pageOrigin !== null) record.timings.total_ms = event.at - pageOrigin;
          record.error = event.error;
          resolve();
          break;
        case "error":
          record.error = { kind: event.kind, message: event.message };
          resolve();
          break;
      }
  });
  const timer = setTimeout(() => {
    record.error = { kind: "timeout", message: `the page had not finished after ${spec.timeout_ms / 1000} s` };
    resolve();
  }, spec.timeout_ms);
  await tab.goto(url, { waitUntil: "domcontentloaded" }).catch((err) => {
    record.error ??= { kind: "browser", message: `cannot open the page: ${errorLine(err)}` };
  });
  if (!record.error) await outcome;
  clearTimeout(timer);
  if (firstOutput !== null && pageOrigin !== null) record.timings.first_output_ms = firstOutput - pageOrigin;
  record.isolated = await tab.evaluate(() => self.crossOriginIsolated).catch(() => null);
}

main().catch((err) => {
  batch.error ??= { kind: "browser", message: errorLine(err) };
  close(1);
});
