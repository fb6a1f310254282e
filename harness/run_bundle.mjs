// Runs an app from a packed bundle through its generated loader.mjs, the way a page would, and
// records stdout and the load-time breakdown: the validation harness of `pyodide-pack pack`.
//
// Usage: node run_bundle.mjs SPEC.json (common.mjs and runner.py must be beside this file)
// SPEC: {
//   loader: PATH,                      OUTDIR/loader.mjs
//   runtime: DIR,                      indexURL: the Pyodide distribution folder
//   files: [[SOURCE, DEST]...],        the entry script (and input), copied into the Emscripten FS
//   entry: DEST, input: DEST | null,
//   out: PATH                          the JSON record, written atomically
// }
import { pathToFileURL } from "node:url";
import { errorLine, reportCrashes, runApp, start, writeFiles } from "./common.mjs";

const record = {
  stdout: "", stderr: "", error: null, timings: {}, imports: [], modules: [], lazy_fetched: [],
  dynlibs_loaded: [],
};
const { spec, finish } = start(record);
reportCrashes(record, "load", finish);

const t0 = performance.now();
const { loadBundle } = await import(pathToFileURL(spec.loader).href);
let pyodide;
try {
  pyodide = await loadBundle({
    indexURL: spec.runtime,
    stdout: (s) => { record.stdout += s + "\n"; },
    stderr: (s) => { record.stderr += s + "\n"; },
    timings: (t) => { Object.assign(record.timings, t); },
    onLazyFetch: ({ path, bytes, ms }) => { record.lazy_fetched.push({ path, bytes, ms }); },
  });
} catch (err) {
  const tail = record.stderr.trim().split("\n").slice(-3).join(" | ");
  record.error = { kind: "load", message: errorLine(err) + (tail ? ` (stderr: ${tail})` : "") };
  finish(1);
}
record.timings.loader_ms = performance.now() - t0;
// What loader.mjs preloaded, in the order the dynamic loader registered it, the main module left
// out (a private table of Emscripten's loader: no public API lists loaded libraries).
record.dynlibs_loaded = Object.keys(pyodide._module.LDSO.loadedLibsByName).filter((n) => n !== "__main__");

writeFiles(pyodide, spec.files);
runApp(pyodide, spec, record);
finish(record.error ? 1 : 0);
