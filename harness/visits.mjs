// One headless Chromium with one profile kept for its whole life (its HTTP cache, its service
// workers), several tabs, driven one JSON line at a time: the second visit, the visit with the
// network gone, the visit after a redeploy, with the caller (a Rust test, a bench) free to act
// between two steps (redeploy files, stop the server, tamper a file).
//
// Usage: node visits.mjs SPEC.json (common.mjs beside it)
// SPEC: {
//   chromium: PATH, driver: DIR,        the browser, and the npm prefix holding puppeteer-core
//   timeout_ms: N,                      how long a command waits, unless it says otherwise
//   network: {download_bps, upload_bps, latency_ms} | null,
//                                       a shaped link for every tab and every service worker
//                                       (bytes/s, ms; the HTTP cache stays on)
// }
// Stdin: one command a line; stdout: exactly one answer line per command, in order (nothing else:
// diagnostics go to stderr).
//   {"cmd":"open","tab":N,"url":URL,"until":UNTIL?,"timeout_ms":N?}   tab N (made if new) goes to URL
//   {"cmd":"reload","tab":N,"until":UNTIL?,"timeout_ms":N?}
//   {"cmd":"eval","tab":N,"js":EXPR,"timeout_ms":N?}   EXPR, a JS expression, awaited in the page
//   {"cmd":"sw_requests"}               what the service workers fetched since the last one
//   {"cmd":"close","tab":N}
//   {"cmd":"quit"}                      (or the end of stdin): closes the browser, removes the profile
// UNTIL: {"js": EXPR} polled every 50 ms until truthy, or {"text": T} until the page's text holds
// T; none: until the document has loaded (readyState "complete").
// Answer: {
//   ok, error: string | null,           a timeout is an answer naming what was waited for
//   ms: from the navigation's start to UNTIL true (null for the other commands),
//   text: document.body.innerText at the end, value: EXPR's value (eval; else null),
//   requests: [{url, method, status, from: "network" | "cache" | "service-worker" | "failed",
//               resource_type, error?}],   what the tab (and its dedicated workers) requested
//                                       since the command started, in the order they ended.
//                                       `from`: where the response came from ("cache": the HTTP
//                                       cache, memory or disk; a 304 is a revalidation over the
//                                       network), "failed" when none came; `error`: Chromium's
//                                       reason when the load failed, also after a response came
//                                       (net::ERR_ABORTED for a body the page read to its end
//                                       through a stream reader, as the loader's checks do).
//                                       For sw_requests: what the service workers requested
//                                       ("network" | "cache" | "failed"), each with `worker`, its
//                                       script's URL (the worker's own script: status null)
//   console: [{type, text}], page_errors: [message...],  since the command started
//   service_worker: whether a service worker controls the page at the end
// }
// Every command waits, once its condition holds, until none of its requests has been in flight
// for 300 ms (3 s at most), so that late requests are counted. data: and blob: URLs are not
// requests. A crash writes one answer line with the error and exits non-zero.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { errorLine, launchChromium } from "./common.mjs";

const POLL_MS = 50;
const QUIET_MS = 300;
const QUIET_CAP_MS = 3000;

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const network = spec.network
  ? {
    download: spec.network.download_bps ?? spec.network.download ?? -1,
    upload: spec.network.upload_bps ?? spec.network.upload ?? -1,
    latency: spec.network.latency_ms ?? spec.network.latency ?? 0,
  }
  : null;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.error("visits.mjs:", ...args);

let browser = null;
let profile = null;
let quitting = false;
let crashed = false;
const tabs = new Map();

function answer(fields) {
  if (crashed) return;
  const line = {
    ok: !fields.error, error: null, ms: null, text: "", value: null, requests: [], console: [],
    page_errors: [], service_worker: false, ...fields,
  };
  line.error ??= null;
  let text;
  try {
    text = JSON.stringify(line);
  } catch (err) {
    text = JSON.stringify({ ...line, value: null, ok: false, error: `the value is not JSON: ${errorLine(err)}` });
  }
  fs.writeSync(1, text + "\n");
}

// Closes the browser (killed if it does not close in 5 s) and removes the profile.
async function shutDown() {
  quitting = true;
  if (browser) {
    const closed = await Promise.race([
      browser.close().then(() => true, () => false),
      sleep(5000).then(() => false),
    ]);
    if (!closed) browser.process()?.kill("SIGKILL");
  }
  if (profile) {
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (err) {
      log(`cannot remove the profile ${profile}: ${errorLine(err)}`);
    }
  }
}

async function crash(err) {
  if (crashed) return;
  answer({ ok: false, error: `visits.mjs: ${errorLine(err)}` });
  crashed = true;
  log(err?.stack ?? err);
  await shutDown().catch(() => {});
  process.exit(1);
}
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);
// Stopped from outside: the browser closed and the profile removed all the same (and the profile,
// at the very least, whatever way the process ends).
for (const signal of ["SIGTERM", "SIGHUP"]) {
  process.on(signal, () => shutDown().finally(() => process.exit(1)));
}
process.on("exit", () => {
  try {
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  } catch {
    // (shutDown said why)
  }
});

// The requests, console messages and page errors of one command.
// `navigation`: why the tab's page could not be fetched, once it could not.
function newLog() {
  return { requests: [], console: [], page_errors: [], inflight: new Set(), last: Date.now(), navigation: null };
}

const counted = (url) => !url.startsWith("data:") && !url.startsWith("blob:");

// A request that failed after its response came keeps its response's origin (Chromium reports a
// body the page read to its end through a stream reader as net::ERR_ABORTED: the loader's checked
// fetches do), with the error.
function requestEntry(req, failure) {
  const res = req.response();
  const entry = {
    url: req.url(),
    method: req.method(),
    status: res ? res.status() : null,
    from: !res ? "failed"
      : res.fromServiceWorker() ? "service-worker"
        : res.fromCache() ? "cache" : "network",
    resource_type: req.resourceType(),
  };
  if (failure !== undefined) entry.error = failure ?? "failed";
  return entry;
}

class Tab {
  constructor(page) {
    this.page = page;
    this.log = null; // (between two commands, what happens is not recorded)
    this.owner = new WeakMap(); // request -> the log of the command it started in
    page.on("request", (req) => {
      if (!this.log || !counted(req.url())) return;
      this.owner.set(req, this.log);
      this.log.inflight.add(req);
      this.log.last = Date.now();
    });
    const settle = (req, failure) => {
      const owner = this.owner.get(req);
      if (!owner) return;
      this.owner.delete(req);
      owner.inflight.delete(req);
      owner.last = Date.now();
      owner.requests.push(requestEntry(req, failure));
    };
    page.on("requestfinished", (req) => settle(req));
    page.on("requestfailed", (req) => {
      const error = req.failure()?.errorText ?? null;
      // (A navigation aborted for another one is no failure of the page.)
      if (this.log && this.owner.has(req) && req.isNavigationRequest() && req.frame() === page.mainFrame()
          && error !== "net::ERR_ABORTED") {
        this.log.navigation ??= `${error ?? "failed"} at ${req.url()}`;
      }
      settle(req, error);
    });
    page.on("console", (message) => {
      const type = message.type() === "warning" ? "warn" : message.type();
      this.log?.console.push({ type, text: message.text() });
    });
    page.on("pageerror", (err) => this.log?.page_errors.push(String(err?.message ?? err)));
    page.on("dialog", (dialog) => dialog.dismiss().catch(() => {}));
  }

  // Runs `work` with a fresh log; then waits for the requests to go quiet; the log's fields.
  async record(work) {
    const current = newLog();
    this.log = current;
    let fields;
    try {
      fields = await work(current);
    } catch (err) {
      fields = { ok: false, error: errorLine(err) };
    }
    const capped = Date.now() + QUIET_CAP_MS;
    while (Date.now() < capped && (current.inflight.size > 0 || Date.now() - current.last < QUIET_MS)) {
      await sleep(25);
    }
    const late = [...current.inflight].map((req) => req.url());
    if (late.length) log(`still in flight after ${QUIET_CAP_MS} ms: ${late.join(", ")}`);
    const end = await withDeadline(this.page.evaluate(() => ({
      text: document.body?.innerText ?? "",
      service_worker: Boolean(navigator.serviceWorker && navigator.serviceWorker.controller !== null),
    })), Date.now() + 5000).catch(() => ({ text: "", service_worker: false }));
    if (this.log === current) this.log = null;
    return {
      ...fields, ...end,
      requests: current.requests, console: current.console, page_errors: current.page_errors,
    };
  }
}

// `promise`, or a rejection (a Late error) once `deadline` (a Date.now() time) has passed.
class Late extends Error {}
function withDeadline(promise, deadline) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Late("no answer by the deadline")), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function tabOf(n, create) {
  if (tabs.has(n)) return tabs.get(n);
  if (!create) throw new Error(`no tab ${n}`);
  const page = await browser.newPage();
  if (network) await page.emulateNetworkConditions(network);
  const tab = new Tab(page);
  tabs.set(n, tab);
  return tab;
}

function describeUntil(until) {
  if (until?.js != null) return `the expression ${JSON.stringify(until.js)} to hold`;
  if (until?.text != null) return `the text ${JSON.stringify(until.text)}`;
  return "the page to load";
}

// Navigates with `navigate(timeout)` (the new document parsed), then polls UNTIL; the answer's
// error and ms.
async function visit(tab, current, command, navigate) {
  const timeout = command.timeout_ms ?? spec.timeout_ms;
  const until = command.until ?? null;
  const what = describeUntil(until);
  const expression = until?.js != null ? `(async () => (${until.js}))()`
    : until?.text != null ? `(document.body?.innerText ?? "").includes(${JSON.stringify(String(until.text))})`
      : `document.readyState === "complete"`;
  const started = Date.now();
  const deadline = started + timeout;
  try {
    await navigate(timeout);
  } catch (err) {
    if (err?.name === "TimeoutError") {
      return { ok: false, error: `waited ${timeout / 1000} s for ${what} (the page was not even parsed)` };
    }
    return { ok: false, error: `cannot open the page: ${errorLine(err)}` };
  }
  let last = null;
  for (;;) {
    const held = await withDeadline(tab.page.evaluate(expression), deadline).then((value) => {
      last = null;
      return value;
    }, (err) => {
      if (!(err instanceof Late)) last = errorLine(err);
      return false;
    });
    if (held) return { ms: Date.now() - started };
    if (current.navigation) return { ok: false, error: `cannot open the page: ${current.navigation}` };
    if (Date.now() >= deadline) {
      const why = last ? ` (last: ${last})` : "";
      return { ok: false, error: `waited ${timeout / 1000} s for ${what}${why}`, ms: null };
    }
    await sleep(POLL_MS);
  }
}

// ---- Service workers: a browser-level session auto-attached to each of them (before it runs),
// with its Network events recorded.
const sw = { requests: [], console: [], pending: new Map(), last: Date.now() };

async function watchServiceWorkers() {
  const root = await browser.target().createCDPSession();
  const connection = root.connection();
  root.on("Target.attachedToTarget", ({ sessionId, targetInfo }) => {
    const session = connection.session(sessionId);
    if (!session) return;
    const key = (id) => `${sessionId}/${id}`;
    const finish = (id, failure) => {
      const entry = sw.pending.get(key(id));
      if (!entry) return;
      sw.pending.delete(key(id));
      if (failure !== undefined) {
        if (entry.status === null) entry.from = "failed";
        entry.error = failure ?? "failed";
      }
      sw.requests.push(entry);
      sw.last = Date.now();
    };
    session.on("Network.requestWillBeSent", (e) => {
      if (e.redirectResponse) {
        const entry = sw.pending.get(key(e.requestId));
        if (entry) {
          entry.status = e.redirectResponse.status;
          if (e.redirectResponse.fromDiskCache) entry.from = "cache";
        }
        finish(e.requestId);
      }
      if (!counted(e.request.url)) return;
      sw.pending.set(key(e.requestId), {
        url: e.request.url, method: e.request.method, status: null, from: "network",
        resource_type: (e.type ?? "other").toLowerCase(), worker: targetInfo.url,
      });
      sw.last = Date.now();
    });
    session.on("Network.requestServedFromCache", (e) => {
      const entry = sw.pending.get(key(e.requestId));
      if (entry) entry.from = "cache";
    });
    session.on("Network.responseReceived", (e) => {
      const entry = sw.pending.get(key(e.requestId));
      if (!entry) return;
      entry.status = e.response.status;
      if (e.response.fromDiskCache) entry.from = "cache";
    });
    session.on("Network.loadingFinished", (e) => finish(e.requestId));
    session.on("Network.loadingFailed", (e) => finish(e.requestId, e.errorText));
    session.on("Runtime.consoleAPICalled", (e) => {
      const text = e.args.map((a) => a.value ?? a.description ?? a.unserializableValue ?? "").join(" ");
      sw.console.push({ type: e.type === "warning" ? "warn" : e.type, text });
    });
    session.on("Runtime.exceptionThrown", (e) => {
      sw.console.push({ type: "error", text: e.exceptionDetails?.exception?.description ?? e.exceptionDetails?.text ?? "exception" });
    });
    // (In this order: the worker runs once it is watched.)
    Promise.all([
      session.send("Network.enable"),
      session.send("Runtime.enable"),
      network && session.send("Network.emulateNetworkConditions", {
        offline: false, latency: network.latency,
        downloadThroughput: network.download, uploadThroughput: network.upload,
      }),
    ]).catch((err) => log(`service worker ${targetInfo.url}: ${errorLine(err)}`))
      .finally(() => session.send("Runtime.runIfWaitingForDebugger").catch(() => {}));
  });
  // (A worker gone: what it had in flight ends with it.)
  root.on("Target.detachedFromTarget", ({ sessionId }) => {
    for (const [key, entry] of sw.pending) {
      if (!key.startsWith(`${sessionId}/`)) continue;
      sw.pending.delete(key);
      sw.requests.push({ ...entry, from: entry.status === null ? "failed" : entry.from, error: "the worker stopped" });
    }
  });
  await root.send("Target.setAutoAttach", {
    autoAttach: true, waitForDebuggerOnStart: true, flatten: true,
    filter: [{ type: "service_worker", exclude: false }, { exclude: true }],
  });
}

async function swRequests() {
  const capped = Date.now() + QUIET_CAP_MS;
  while (Date.now() < capped && (sw.pending.size > 0 || Date.now() - sw.last < QUIET_MS)) await sleep(25);
  const fields = { requests: sw.requests, console: sw.console };
  sw.requests = [];
  sw.console = [];
  return fields;
}

// ---- The commands.
async function run(command) {
  const timeout = command.timeout_ms ?? spec.timeout_ms;
  switch (command.cmd) {
    case "open": {
      if (typeof command.url !== "string") throw new Error("open needs a url");
      const tab = await tabOf(command.tab, true);
      return tab.record((current) => visit(tab, current, command, (t) => tab.page.goto(command.url, { waitUntil: "domcontentloaded", timeout: t })));
    }
    case "reload": {
      const tab = await tabOf(command.tab, false);
      return tab.record((current) => visit(tab, current, command, (t) => tab.page.reload({ waitUntil: "domcontentloaded", timeout: t })));
    }
    case "eval": {
      if (typeof command.js !== "string") throw new Error("eval needs js");
      const tab = await tabOf(command.tab, false);
      return tab.record(async () => {
        try {
          const value = await withDeadline(
            tab.page.evaluate(`(async () => (${command.js}))()`), Date.now() + timeout);
          return { value: value === undefined ? null : value };
        } catch (err) {
          return {
            ok: false,
            error: err instanceof Late ? `waited ${timeout / 1000} s for the value of ${JSON.stringify(command.js)}` : errorLine(err),
          };
        }
      });
    }
    case "sw_requests":
      return swRequests();
    case "close": {
      const tab = await tabOf(command.tab, false);
      tabs.delete(command.tab);
      await tab.page.close();
      return {};
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(command.cmd)}`);
  }
}

async function main() {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), "pyodide-pack-visits-"));
  browser = await launchChromium(spec, { userDataDir: profile });
  browser.on("disconnected", () => {
    if (!quitting) crash(new Error("the browser went away"));
  });
  await watchServiceWorkers();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let command;
    try {
      command = JSON.parse(line);
    } catch (err) {
      answer({ ok: false, error: `not a JSON command: ${errorLine(err)}` });
      continue;
    }
    if (command?.cmd === "quit") {
      answer({});
      break;
    }
    let fields;
    try {
      fields = await run(command);
    } catch (err) {
      fields = { ok: false, error: errorLine(err) };
    }
    answer(fields);
  }
  await shutDown();
  process.exit(0);
}

main().catch(crash);
