// The baseline for `cargo bench --bench trace` and `--bench science`: a plain run of an app under
// Pyodide in Node, with no recording at all.
// Usage: node plain_run.mjs RUNTIME_DIR APP.py [WHEEL... | package:NAME...]
// `package:NAME` is a package of the runtime's lock (a full distribution folder), loaded with
// pyodide.loadPackage as a page loads it: dependencies, shared libraries, every extension module.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [runtime, app, ...rest] = process.argv.slice(2);
const wheels = rest.filter((a) => !a.startsWith("package:"));
const packages = rest.filter((a) => a.startsWith("package:")).map((a) => a.slice("package:".length));
const { loadPyodide } = await import(pathToFileURL(path.join(runtime, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: runtime + path.sep, stdout: () => {} });
if (packages.length) await pyodide.loadPackage(packages, { messageCallback: () => {} });
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const wheel of wheels) {
  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel", { extractDir: sitePackages });
}
pyodide.FS.writeFile("/home/pyodide/app.py", fs.readFileSync(app));
pyodide.runPython("import runpy; runpy.run_path('/home/pyodide/app.py', run_name='__main__')");
