// Runs a Python app under real Pyodide in Node and records what it used: the trace harness of
// pyodide-pack (the binary carries this file and writes it into its cache before running it).
//
// Usage: node run_app.mjs SPEC.json (runner.py must be beside this file)
// SPEC: {
//   runtime: DIR,                      the Pyodide distribution (pyodide.mjs, pyodide.asm.wasm, ...)
//   wheels: [PATH...],                 installed into site-packages, in order
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

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const record = {
  opened: [], dynlibs: [], imports: [], modules: [], stdout: "", stderr: "", error: null, timings: {},
};

function finish(code) {
  fs.writeFileSync(spec.out + ".tmp", JSON.stringify(record));
  fs.renameSync(spec.out + ".tmp", spec.out);
  process.exit(code);
}

// A Python exception's message is its traceback: the last line says what went wrong.
function lastLine(err) {
  const lines = String(err && err.message ? err.message : err).split("\n").filter((l) => l.trim());
  return lines.length ? lines[lines.length - 1].trim() : "error";
}

function firstLine(err) {
  return String(err && err.message ? err.message : err).split("\n").find((l) => l.trim()) ?? "error";
}

// An unexpected failure anywhere is reported in the record, never as a dump of Pyodide's source.
for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.on(event, (err) => {
    record.error ??= { kind: "harness", message: firstLine(err) };
    finish(1);
  });
}

const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(spec.runtime, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: spec.runtime + path.sep,
  stdout: (s) => { record.stdout += s + "\n"; },
  stderr: (s) => { record.stderr += s + "\n"; },
  fsInit: (FS) => {
    const open = FS.open;
    FS.open = function (p, flags, ...rest) {
      const stream = open.call(this, p, flags, ...rest);
      const isRead = flags === "r" || (typeof flags === "number" && (flags & 3) === 0);
      if (isRead && stream && stream.node && !FS.isDir(stream.node.mode)) {
        record.opened.push(stream.path ?? String(p));
      }
      return stream;
    };
  },
});
record.timings.load_pyodide_ms = performance.now() - t0;

// Every dynamic library, in load order: the first time its name appears in the loader's table.
const ldso = pyodide._module.LDSO;
ldso.loadedLibsByName = new Proxy(ldso.loadedLibsByName, {
  set(target, key, value) {
    if (!(key in target)) record.dynlibs.push(String(key));
    target[key] = value;
    return true;
  },
});

const t1 = performance.now();
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const wheel of spec.wheels ?? []) {
  try {
    pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel", { extractDir: sitePackages });
  } catch (err) {
    record.error = { kind: "install", message: `${path.basename(wheel)}: ${lastLine(err)}` };
    finish(1);
  }
}
for (const [source, dest] of spec.files ?? []) {
  pyodide.FS.mkdirTree(path.posix.dirname(dest));
  pyodide.FS.writeFile(dest, fs.readFileSync(source));
}
record.timings.install_ms = performance.now() - t1;

// The Python side (runner.py, beside this file): runs the app and reports imports and modules.
const runner = pyodide.runPython(fs.readFileSync(new URL("runner.py", import.meta.url), "utf8"));
const t2 = performance.now();
const result = JSON.parse(runner(spec.entry, spec.input ?? undefined));
runner.destroy();
record.timings.run_ms = performance.now() - t2;
record.error = result.error;
record.imports = result.imports;
record.modules = result.modules;
record.opened = [...new Set(record.opened)];
finish(record.error ? 1 : 0);
