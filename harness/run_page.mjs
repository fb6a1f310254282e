// Opens a page that loads Pyodide itself (a PyScript site, a hand-written page) in headless
// Chromium, waits until it is done, and records what it showed: the page's text, its console,
// its requests. With a `runtime`, the page's interpreter is answered by the instrumented one
// (trace_pyodide.mjs in place of its pyodide.mjs, the runtime folder's files for the rest) and the
// record holds what Python opened, imported and loaded: the trace of a page. Without one, the page
// runs as it is served (a packed page, validated).
//
// Usage: node run_page.mjs SPEC.json (common.mjs, trace_pyodide.mjs and trace_hooks.mjs beside it)
// SPEC: {
//   site: DIR, page: PATH,             the folder served at the origin's root, and the page in it
//   url: URL | null,                   or a server already serving it: the page is PATH under URL
//   runtime: {url, dir} | null,        trace: the interpreter's folder URL (relative to the page,
//                                      or absolute: a CDN folder) answered from the folder DIR
//   done_event: NAME | null,           the host's done signal, dispatched on window
//   until: TEXT | null,                done once the page's text or console shows TEXT
//   quiet_ms: N,                       else: done once the interpreter was asked for and nothing
//                                      was requested or logged for N ms
//   script: SOURCE | null,             Python run in the page's interpreter once the page is done
//                                      (an input); without a runtime, the module at
//   interpreter: URL | null,           this URL (the packed drop-in, relative to the page) is
//                                      wrapped to hand its interpreter to the script
//   cdn: {url, dir} | null,            a stand-in CDN: requests under URL answered from DIR as
//                                      they are (a packed page that takes its runtime from a CDN)
//   network: {download, upload, latency} | null,   a shaped link (bytes/s, ms), for the bench
//   chromium: PATH, driver: DIR, timeout_ms: N, out: PATH
// }
// The record's `bytes` is what came over the wire (Chromium's encoded lengths, headers included),
// `timings.first_output_ms` when the page's text first changed after it was parsed.
// Every request outside the origin that is not the traced interpreter's is refused and recorded.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { errorLine, launchChromium, MIME, mimeOf, start } from "./common.mjs";

const record = {
  text: "", console: [], page_errors: [], failed_requests: [], outside: [], requests: [],
  error: null, timings: {}, trace: null, waited_for: "", bytes: 0,
};
const { spec, finish } = start(record, { onParentGone: () => browser?.close() });
const here = path.dirname(fileURLToPath(import.meta.url));
const REAL_DIR = "__pyodide_pack_real__/";
const HARNESS_DIR = "__pyodide_pack_harness__/";

// `relative` inside `dir`, or null when it would leave it.
function inside(dir, relative) {
  const root = path.resolve(dir);
  const file = path.resolve(root, "." + path.posix.normalize("/" + relative));
  return file.startsWith(root + path.sep) ? file : null;
}

function serveSite() {
  return http.createServer((req, res) => {
    const headers = { "Cache-Control": "no-store" };
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    let file = inside(spec.site, urlPath);
    if (file && urlPath.endsWith("/")) file = path.join(file, "index.html");
    fs.stat(file ?? "", (err, stat) => {
      if (err || !stat.isFile()) {
        res.writeHead(404, { ...headers, "Content-Type": MIME[".txt"] }).end("not found\n");
        return;
      }
      res.writeHead(200, { ...headers, "Content-Type": mimeOf(file), "Content-Length": stat.size });
      fs.createReadStream(file).pipe(res);
    });
  });
}

let browser;
let server;
async function close(code) {
  await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 3000))]).catch(() => {});
  server?.close();
  finish(code);
}

async function main() {
  let origin;
  if (spec.url) {
    origin = new URL(spec.url).origin; // (served by someone else: pyodide-pack serve)
  } else {
    server = serveSite();
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    origin = `http://127.0.0.1:${server.address().port}`;
  }
  const pageURL = new URL(spec.page.split("/").map(encodeURIComponent).join("/"), (spec.url ?? origin + "/")).href;
  const runtimeURL = spec.runtime ? new URL(spec.runtime.url, pageURL).href : null;
  const wrapURL = spec.script && !spec.runtime && spec.interpreter ? new URL(spec.interpreter, pageURL).href : null;

  try {
    browser = await launchChromium(spec);
  } catch (err) {
    record.error = { kind: "browser", message: err.message };
    return close(1);
  }
  const tab = await browser.newPage();
  const started = Date.now();
  let lastActivity = Date.now();
  let inFlight = 0;
  let interpreterAsked = false;
  let firstText = null;
  let parsedText = null;
  const activity = () => { lastActivity = Date.now(); };

  tab.on("console", (message) => {
    activity();
    const type = message.type() === "warning" ? "warn" : message.type();
    // (A page that names no icon asks for /favicon.ico: not the page's doing.)
    if (message.location()?.url?.endsWith("/favicon.ico")) return;
    record.console.push({ type, text: message.text() });
  });
  tab.on("pageerror", (err) => { activity(); record.page_errors.push(String(err?.message ?? err)); });
  tab.on("requestfailed", (req) => {
    inFlight = Math.max(0, inFlight - 1);
    activity();
    if (!record.outside.includes(req.url())) record.failed_requests.push(`${req.url()}: ${req.failure()?.errorText}`);
  });
  tab.on("requestfinished", () => { inFlight = Math.max(0, inFlight - 1); activity(); });
  tab.on("response", (res) => {
    if (res.status() >= 400 && !res.url().endsWith("/favicon.ico")) {
      record.failed_requests.push(`${res.url()}: HTTP ${res.status()}`);
    }
  });

  // Bytes on the wire per request: its loadingFinished's count, or, for a body the page reads as
  // a stream (which may end with no loadingFinished, or one that counts the headers alone), the
  // sum of its dataReceived counts, whichever is larger.
  const wire = new Map();
  const entry = (id) => wire.get(id) ?? wire.set(id, { url: "", chunks: 0, finished: 0 }).get(id);
  const devtools = await tab.createCDPSession();
  devtools.on("Network.requestWillBeSent", (e) => { entry(e.requestId).url = e.request.url; });
  devtools.on("Network.dataReceived", (e) => { entry(e.requestId).chunks += e.encodedDataLength; });
  devtools.on("Network.loadingFinished", (e) => { entry(e.requestId).finished = e.encodedDataLength; });
  await devtools.send("Network.enable");
  if (spec.network) {
    await tab.setCacheEnabled(false);
    await tab.emulateNetworkConditions(spec.network);
  }
  await tab.setRequestInterception(true);
  tab.on("request", (req) => {
    inFlight += 1;
    activity();
    const url = req.url();
    if (url.startsWith("data:") || url.startsWith("blob:")) return req.continue();
    record.requests.push(url);
    if (runtimeURL && url.startsWith(runtimeURL)) {
      // The traced interpreter: the instrumented module in place of pyodide.mjs, the runtime
      // folder's files for the rest (the real pyodide.mjs under REAL_DIR).
      interpreterAsked = true;
      let rest = decodeURIComponent(new URL(url).pathname.slice(new URL(runtimeURL).pathname.length));
      let file;
      if (rest === "pyodide.mjs") file = path.join(here, "trace_pyodide.mjs");
      else if (rest.startsWith(HARNESS_DIR)) file = inside(here, rest.slice(HARNESS_DIR.length));
      else {
        if (rest.startsWith(REAL_DIR)) rest = rest.slice(REAL_DIR.length);
        file = inside(spec.runtime.dir, rest);
      }
      if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        return req.respond({ status: 404, contentType: "text/plain", body: "not in the runtime folder\n" });
      }
      return req.respond({
        status: 200, contentType: mimeOf(file), body: fs.readFileSync(file),
        headers: { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" },
      });
    }
    if (spec.cdn && url.startsWith(spec.cdn.url)) {
      const file = inside(spec.cdn.dir, decodeURIComponent(url.slice(spec.cdn.url.length).split(/[?#]/)[0]));
      if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        return req.respond({ status: 404, contentType: "text/plain", body: "not on the stand-in CDN\n" });
      }
      return req.respond({
        status: 200, contentType: mimeOf(file), body: fs.readFileSync(file),
        headers: { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" },
      });
    }
    if (!url.startsWith(origin + "/")) {
      if (!record.outside.includes(url)) record.outside.push(url);
      return req.abort("blockedbyclient");
    }
    if (url.endsWith("/pyodide.mjs")) interpreterAsked = true;
    if (wrapURL && url === wrapURL) {
      // The packed interpreter, wrapped so that the input script finds the page's interpreter.
      return req.respond({
        status: 200, contentType: "text/javascript", headers: { "Cache-Control": "no-store" },
        body: `import * as real from "./pyodide.mjs?pyodide-pack-real";
export const version = real.version;
export async function loadPyodide(config) {
  const pyodide = await real.loadPyodide(config);
  globalThis.__pyodidePackPage = pyodide;
  return pyodide;
}
`,
      });
    }
    return req.continue();
  });

  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  await tab.exposeFunction("__ppDone", (name) => resolveDone(`the host's ${name} event`));
  // Compiling a side module makes no request and logs nothing: the page is not quiet while one
  // is compiling.
  await tab.evaluateOnNewDocument(() => {
    globalThis.__ppCompiling = 0;
    for (const name of ["compile", "instantiate", "compileStreaming", "instantiateStreaming"]) {
      const original = WebAssembly[name];
      WebAssembly[name] = function (...args) {
        globalThis.__ppCompiling += 1;
        const settle = () => { globalThis.__ppCompiling -= 1; };
        const result = original.apply(this, args);
        result.then(settle, settle);
        return result;
      };
    }
  });
  if (spec.done_event) {
    await tab.evaluateOnNewDocument((name) => {
      window.addEventListener(name, () => window.__ppDone(name), { once: true });
    }, spec.done_event);
  }
  const waitedFor = spec.done_event ? `the host's ${spec.done_event} event`
    : spec.until ? `the text ${JSON.stringify(spec.until)}`
      : `the page to go quiet (${spec.quiet_ms} ms without a request or a console message after Pyodide was asked for)`;
  record.waited_for = waitedFor;
  const poll = setInterval(async () => {
    if (spec.until) {
      const text = await tab.evaluate(() => document.body?.innerText ?? "").catch(() => "");
      if (text.includes(spec.until) || record.console.some((m) => m.text.includes(spec.until))) {
        resolveDone(`the text ${JSON.stringify(spec.until)}`);
      }
    } else if (!spec.done_event && interpreterAsked) {
      // Busy is a request in flight, a module compiling, or a page thread slow to answer
      // (unpacking a wheel, running Python): each restarts the quiet time.
      const asked = Date.now();
      const compiling = await tab.evaluate(() => globalThis.__ppCompiling).catch(() => 0);
      if (inFlight > 0 || compiling || Date.now() - asked > 50) activity();
      else if (Date.now() - lastActivity >= spec.quiet_ms) resolveDone("the page went quiet");
    }
    if (firstText === null && parsedText !== null) {
      const text = await tab.evaluate(() => document.body?.innerText ?? "").catch(() => parsedText);
      if (text !== parsedText) firstText = Date.now() - started;
    }
  }, 100);
  const timer = setTimeout(() => resolveDone(null), spec.timeout_ms);
  await tab.goto(pageURL, { waitUntil: "domcontentloaded" }).catch((err) => {
    record.error ??= { kind: "browser", message: `cannot open the page: ${errorLine(err)}` };
    resolveDone(null);
  });
  parsedText = await tab.evaluate(() => document.body?.innerText ?? "").catch(() => "");
  const reason = await done;
  clearInterval(poll);
  clearTimeout(timer);
  record.timings.done_ms = Date.now() - started;
  record.timings.first_output_ms = firstText;
  if (reason === null && !record.error) {
    record.error = { kind: "timeout", message: `waited ${spec.timeout_ms / 1000} s for ${waitedFor}` };
  }
  if (spec.script && !record.error && reason !== null) {
    // The input: run in the page's interpreter, as the page's own Python runs (its output goes
    // where the host sends the interpreter's).
    const failure = await tab.evaluate(async (source) => {
      const pyodide = globalThis.__pyodidePackTrace?.pyodide ?? globalThis.__pyodidePackPage;
      if (!pyodide) return "the page's interpreter was not found";
      try {
        await pyodide.runPythonAsync(source);
        return null;
      } catch (err) {
        return String(err?.message ?? err);
      }
    }, spec.script).catch((err) => `cannot run the input: ${errorLine(err)}`);
    if (failure) record.error = { kind: failure.includes("Traceback") ? "python" : "input", message: failure };
    await new Promise((resolve) => setTimeout(resolve, 200)); // (the last console messages)
  }
  record.bytes = [...wire.values()].reduce((sum, r) => sum + Math.max(r.chunks, r.finished), 0);
  record.wire = [...wire.values()].map((r) => [r.url, Math.max(r.chunks, r.finished)]);
  record.text = await tab.evaluate(() => document.body?.innerText ?? "").catch(() => "");
  // (A page done between two polls: its output came by the time it was done.)
  if (firstText === null && parsedText !== null && record.text !== parsedText) {
    record.timings.first_output_ms = record.timings.done_ms;
  }
  if (spec.runtime) {
    record.trace = await tab.evaluate(() => globalThis.__pyodidePackTrace?.collect() ?? null).catch((err) => {
      record.error ??= { kind: "trace", message: `cannot read the trace: ${errorLine(err)}` };
      return null;
    });
  }
  return close(record.error ? 1 : 0);
}

main().catch((err) => {
  record.error ??= { kind: "browser", message: errorLine(err) };
  close(1);
});
