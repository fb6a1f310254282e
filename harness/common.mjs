// What the harness scripts share: the spec, the record written atomically, one-line error
// messages, running the app through runner.py, and (run_browser.mjs, run_page.mjs) the content
// types served and the headless Chromium.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";

/// The spec named on the command line, and a `finish(code)` that writes `record` to spec.out
/// (through a temporary file, so a reader never sees half a record) and exits. The script ends
/// when its parent (pyodide-pack) is gone, as it would had the parent ended it: `onParentGone`
/// (closing a browser) runs first, where this thread is free to run it.
export function start(record, { onParentGone = async () => {} } = {}) {
  exitWithParent(onParentGone);
  const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const finish = (code) => {
    fs.writeFileSync(spec.out + ".tmp", JSON.stringify(record));
    fs.renameSync(spec.out + ".tmp", spec.out);
    process.exit(code);
  };
  return { spec, finish };
}

/// Ends this process once its parent has exited (a pyodide-pack killed outright, which could not
/// end it: nobody reads the record, and an endless app would spin for ever). A worker thread
/// watches, because Python blocks this thread while it runs; it asks this thread to clean up
/// and exit, and kills the process itself if this thread does not within 3 s.
function exitWithParent(onParentGone) {
  const parent = process.ppid;
  const watcher = new Worker(`
    const { parentPort } = require("node:worker_threads");
    const timer = setInterval(() => {
      if (process.ppid === ${parent}) return;
      clearInterval(timer);
      parentPort.postMessage("gone");
      setTimeout(() => process.kill(process.pid, "SIGKILL"), 3000);
    }, 500);`, { eval: true });
  watcher.unref();
  watcher.on("message", () => {
    Promise.resolve().then(onParentGone).catch(() => {}).finally(() => process.exit(1));
  });
}

/// The line that says what went wrong: a Python exception's message is its traceback, whose last
/// line is the exception; anything else says it first.
export function errorLine(err) {
  const lines = String(err && err.message ? err.message : err).split("\n").filter((l) => l.trim());
  if (!lines.length) return "error";
  return (lines[0].startsWith("Traceback") ? lines[lines.length - 1] : lines[0]).trim();
}

/// An unexpected failure anywhere is reported in the record as `kind`, never as a dump of
/// Pyodide's source.
export function reportCrashes(record, kind, finish) {
  for (const event of ["uncaughtException", "unhandledRejection"]) {
    process.on(event, (err) => {
      record.error ??= { kind, message: errorLine(err) };
      finish(1);
    });
  }
}

/// Copies [SOURCE, DEST] files into Pyodide's file system.
export function writeFiles(pyodide, files) {
  for (const [source, dest] of files ?? []) {
    pyodide.FS.mkdirTree(path.posix.dirname(dest));
    pyodide.FS.writeFile(dest, fs.readFileSync(source));
  }
}

/// Runs spec.entry (then spec.input) with runner.py, beside this file, and fills the record:
/// error, imports, modules, timings.run_ms.
export function runApp(pyodide, spec, record) {
  const runner = pyodide.runPython(fs.readFileSync(new URL("runner.py", import.meta.url), "utf8"));
  const t = performance.now();
  const result = JSON.parse(runner(spec.entry, spec.input ?? undefined));
  runner.destroy();
  record.timings.run_ms = performance.now() - t;
  record.error = result.error;
  record.imports = result.imports;
  record.modules = result.modules;
}

/// The content type a test server sends for a file, by its extension.
export const MIME = {
  ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
  ".zip": "application/zip", ".json": "application/json", ".html": "text/html; charset=utf-8",
  ".css": "text/css", ".py": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8",
  ".toml": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
};
export const mimeOf = (file) => MIME[path.extname(file)] ?? "application/octet-stream";

/// Headless Chromium (spec.chromium) driven by the puppeteer-core installed at spec.driver; an
/// error says which browser did not start. `userDataDir`: a profile folder of the caller's (kept
/// across the browser's life: its HTTP cache, its service workers), else puppeteer's own
/// throw-away one.
export async function launchChromium(spec, { userDataDir } = {}) {
  const require = createRequire(path.join(spec.driver, "package.json"));
  const puppeteer = require("puppeteer-core");
  try {
    return await puppeteer.launch({
      executablePath: spec.chromium,
      headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
      ...(userDataDir ? { userDataDir } : {}),
    });
  } catch (err) {
    throw new Error(`cannot start ${spec.chromium}: ${errorLine(err)}`);
  }
}
