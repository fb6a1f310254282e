// What a real Pyodide runtime says about itself, for the runtime table's tests (tests/suite/runtimes.rs):
// its version, its CPython, the frozen modules, where the stdlib zip and site-packages are, and
// whether its compiler accepts each snippet of Python given.
//
// Usage: node runtime_probe.mjs RUNTIME_DIR SNIPPETS.json   (prints one JSON object)
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dir, snippetsFile] = process.argv.slice(2);
const { loadPyodide, version } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: dir + path.sep, stdout: () => {}, stderr: () => {} });
pyodide.globals.set("_probe_snippets", fs.readFileSync(snippetsFile, "utf8"));
const facts = JSON.parse(pyodide.runPython(`
import _imp, json, platform, site, sys
def _accepts(source):
    try:
        compile(source, "<snippet>", "exec")
        return True
    except SyntaxError:
        return False
json.dumps({
    "python": platform.python_version(),
    "frozen": sorted(_imp._frozen_module_names()),
    "frozen_in_sys_modules": sorted(
        n for n, m in sys.modules.items()
        if getattr(getattr(m, "__spec__", None), "origin", None) == "frozen"),
    "sys_path": sys.path,
    "site_packages": site.getsitepackages()[0],
    "accepts": [_accepts(s) for s in json.loads(_probe_snippets)],
})
`));
console.log(JSON.stringify({ version, ...facts }));
