// Runs a Python app under real Pyodide in Node and records what it used.
//
// Usage: node run_app.mjs SPEC.json
// SPEC: { runtime: DIR, wheels: [PATH...], app: PATH|null, inputs: [PATH...],
//         out: PATH (JSON record written here), timeout_ms: N }
// The app's source reaches Python as a file written into the Emscripten FS and is run with
// runpy, never pasted into JavaScript, so backticks, `${` and quotes in it do not matter.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const record = { opened: [], dynlibs: [], imports: [], modules: [], stdout: "", error: null, timings: {} };
let stdout = "";

function finish(code) {
  fs.writeFileSync(spec.out + ".tmp", JSON.stringify(record));
  fs.renameSync(spec.out + ".tmp", spec.out);
  process.exit(code);
}

function firstLine(err) {
  return String(err && err.message ? err.message : err).split("\n").find((l) => l.trim()) ?? "error";
}

// An unexpected failure anywhere is reported in the record, never as a dump of Pyodide's source.
process.on("uncaughtException", (err) => {
  record.error ??= { kind: "harness", message: firstLine(err) };
  finish(1);
});
process.on("unhandledRejection", (err) => {
  record.error ??= { kind: "harness", message: firstLine(err) };
  finish(1);
});

const timer = setTimeout(() => {
  record.error = { kind: "timeout", message: `the app did not finish within ${spec.timeout_ms} ms` };
  finish(3);
}, spec.timeout_ms ?? 120000);

const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(spec.runtime, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL: spec.runtime + path.sep,
  stdout: (s) => { stdout += s + "\n"; },
  stderr: (s) => { process.stderr.write(s + "\n"); },
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
    record.error = { kind: "install", message: `${path.basename(wheel)}: ${firstLine(err)}` };
    finish(1);
  }
}
record.timings.install_ms = performance.now() - t1;

// Python side of the recorder: an audit hook for imports, and sys.modules with origins at the end.
pyodide.runPython(`
import sys
_pp_imports = []
def _pp_hook(event, args):
    if event == "import":
        _pp_imports.append(args[0])
sys.addaudithook(_pp_hook)
`);

function snapshot() {
  const result = pyodide.runPython(`
import json as _pp_json, sys as _pp_sys
def _pp_origin(m):
    spec = getattr(m, "__spec__", None)
    if spec is None:
        f = getattr(m, "__file__", None)
        return f
    return spec.origin
_pp_json.dumps({"imports": _pp_imports,
               "modules": [[n, _pp_origin(m)] for n, m in list(_pp_sys.modules.items())]})
`);
  const parsed = JSON.parse(result);
  record.imports = parsed.imports;
  record.modules = parsed.modules;
}

const t2 = performance.now();
try {
  const files = [];
  if (spec.app) files.push(["/home/pyodide/" + path.basename(spec.app), spec.app]);
  for (const [i, input] of (spec.inputs ?? []).entries()) files.push([`/tmp/_pp_input_${i}.py`, input]);
  for (const [dest, src] of files) pyodide.FS.writeFile(dest, fs.readFileSync(src));
  const appDir = spec.app ? path.dirname(spec.app) : null;
  if (appDir) {
    // Sibling modules of the app are importable, as they would be beside a script.
    for (const name of fs.readdirSync(appDir)) {
      if (name.endsWith(".py") && name !== path.basename(spec.app)) {
        pyodide.FS.writeFile("/home/pyodide/" + name, fs.readFileSync(path.join(appDir, name)));
      }
    }
  }
  const runner = pyodide.runPython(`
def _pp_run(paths):
    import runpy, sys
    sys.path.insert(0, "/home/pyodide")
    g = None
    for p in paths:
        if g is None:
            g = runpy.run_path(p, run_name="__main__")
        else:
            exec(compile(open(p).read(), p, "exec"), g)
_pp_run
`);
  runner(files.map(([dest]) => dest));
  runner.destroy();
} catch (err) {
  record.error = { kind: "python", message: String(err.message ?? err) };
}
record.timings.run_ms = performance.now() - t2;
record.stdout = stdout;
record.opened = [...new Set(record.opened)];
try { snapshot(); } catch (err) { record.error ??= { kind: "snapshot", message: String(err) }; }
clearTimeout(timer);
finish(record.error ? 1 : 0);
