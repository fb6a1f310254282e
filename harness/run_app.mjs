// Runs a Python app under real Pyodide in Node and records what it used: the trace harness of
// pyodide-pack (the binary carries this file and writes it into its cache before running it).
//
// Usage: node run_app.mjs SPEC.json (common.mjs, trace_hooks.mjs and runner.py beside this file)
// SPEC: {
//   runtime: DIR,                      the Pyodide distribution (pyodide.mjs, pyodide.asm.wasm, ...)
//   wheels: [PATH...],                 installed into site-packages, in order
//   shared_libraries: [PATH...],       the lock's shared-library zips, unpacked into dso_dir
//   libraries: [DEST...],              the libraries they install, loaded up front in this order
//   dso_dir: DIR,                      Pyodide's library folder (/usr/lib, on LD_LIBRARY_PATH)
//   files: [[SOURCE, DEST]...],        the app's folder, copied into the Emscripten FS
//   entry: DEST,                       the script run as __main__
//   input: DEST | null,                a file exec'd after the entry, in the entry's globals
//   out: PATH                          the JSON record, written atomically (only on a finished run)
// }
// The app's source reaches Python as files written into the Emscripten FS and run with runpy,
// never pasted into JavaScript, so backticks, `${`, quotes and non-ASCII in it do not matter.
// The caller enforces the timeout by killing this process: a Python loop blocks Node's event loop.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { errorLine, reportCrashes, runApp, start, writeFiles } from "./common.mjs";
import { recordDynlibs, recordOpens } from "./trace_hooks.mjs";

const record = {
  opened: [], dynlibs: [], imports: [], modules: [], stdout: "", stderr: "", error: null, timings: {},
};
const { spec, finish } = start(record);
reportCrashes(record, "harness", finish);

const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(spec.runtime, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: spec.runtime + path.sep,
  stdout: (s) => { record.stdout += s + "\n"; },
  stderr: (s) => { record.stderr += s + "\n"; },
  fsInit: (FS) => recordOpens(FS, record.opened),
});
record.timings.load_pyodide_ms = performance.now() - t0;

recordDynlibs(pyodide, record.dynlibs);

const t1 = performance.now();
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
// Shared libraries first, where Pyodide's installer puts them; a side module that names one in
// its dylink.0 section finds it there when it is loaded.
const installs = [
  ...(spec.shared_libraries ?? []).map((file) => [file, "zip", spec.dso_dir]),
  ...(spec.wheels ?? []).map((file) => [file, "wheel", sitePackages]),
];
for (const [file, format, extractDir] of installs) {
  try {
    pyodide.unpackArchive(new Uint8Array(fs.readFileSync(file)), format, { extractDir });
  } catch (err) {
    record.error = { kind: "install", message: `${path.basename(file)}: ${errorLine(err)}` };
    finish(1);
  }
}
// Shared libraries are loaded up front, as Pyodide's loadPackage does for a shared_library
// package: on 0.27 (Emscripten 3.1.58) a side module's `needed` library is found only among the
// libraries already loaded, by name; 0.28 and later also search LD_LIBRARY_PATH. There is no
// public API to load a library: `_api.loadDynlib` is what loadPackage itself calls.
for (const lib of spec.libraries ?? []) {
  try {
    await pyodide._api.loadDynlib(lib, false);
  } catch (err) {
    record.error = { kind: "install", message: `${lib}: ${errorLine(err)}` };
    finish(1);
  }
}
writeFiles(pyodide, spec.files);
record.timings.install_ms = performance.now() - t1;

// The Python side (runner.py): runs the app and reports imports and modules.
runApp(pyodide, spec, record);
record.opened = [...new Set(record.opened)];
finish(record.error ? 1 : 0);
