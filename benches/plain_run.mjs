// The baseline for `cargo bench --bench trace`: a plain run of an app under Pyodide in Node, with
// no recording at all. Usage: node plain_run.mjs RUNTIME_DIR APP.py [WHEEL...]
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [runtime, app, ...wheels] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(runtime, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: runtime + path.sep, stdout: () => {} });
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const wheel of wheels) {
  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel", { extractDir: sitePackages });
}
pyodide.FS.writeFile("/home/pyodide/app.py", fs.readFileSync(app));
pyodide.runPython("import runpy; runpy.run_path('/home/pyodide/app.py', run_name='__main__')");
