// Runs an app from a packed bundle through its generated loader.mjs, the way a page would, and
// records stdout and the load-time breakdown: the validation harness of `pyodide-pack pack`.
//
// Usage: node run_bundle.mjs SPEC.json (runner.py must be beside this file)
// SPEC: {
//   loader: PATH,                      OUTDIR/loader.mjs
//   runtime: DIR,                      indexURL: the Pyodide distribution folder
//   files: [[SOURCE, DEST]...],        the entry script (and input), copied into the Emscripten FS
//   entry: DEST, input: DEST | null,
//   out: PATH                          the JSON record, written atomically
// }
import fs from "node:fs";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const record = { stdout: "", stderr: "", error: null, timings: {}, imports: [], modules: [] };

function finish(code) {
  fs.writeFileSync(spec.out + ".tmp", JSON.stringify(record));
  fs.renameSync(spec.out + ".tmp", spec.out);
  process.exit(code);
}

// The line that says what went wrong: a Python exception's message is its traceback, whose last
// line is the exception.
function message(err) {
  const lines = String(err && err.message ? err.message : err).split("\n").filter((l) => l.trim());
  if (!lines.length) return "error";
  return (lines[0].startsWith("Traceback") ? lines[lines.length - 1] : lines[0]).trim();
}

for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.on(event, (err) => {
    record.error ??= { kind: "load", message: message(err) };
    finish(1);
  });
}

const t0 = performance.now();
const { loadBundle } = await import(pathToFileURL(spec.loader).href);
let pyodide;
try {
  pyodide = await loadBundle({
    indexURL: spec.runtime,
    stdout: (s) => { record.stdout += s + "\n"; },
    stderr: (s) => { record.stderr += s + "\n"; },
    timings: (t) => { Object.assign(record.timings, t); },
  });
} catch (err) {
  const tail = record.stderr.trim().split("\n").slice(-3).join(" | ");
  record.error = { kind: "load", message: message(err) + (tail ? ` (stderr: ${tail})` : "") };
  finish(1);
}
record.timings.loader_ms = performance.now() - t0;

for (const [source, dest] of spec.files ?? []) {
  pyodide.FS.mkdirTree(dest.substring(0, dest.lastIndexOf("/")));
  pyodide.FS.writeFile(dest, fs.readFileSync(source));
}
const runner = pyodide.runPython(fs.readFileSync(new URL("runner.py", import.meta.url), "utf8"));
const t1 = performance.now();
const result = JSON.parse(runner(spec.entry, spec.input ?? undefined));
runner.destroy();
record.timings.run_ms = performance.now() - t1;
record.error = result.error;
record.imports = result.imports;
record.modules = result.modules;
finish(record.error ? 1 : 0);
