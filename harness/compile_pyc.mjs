// Compiles Python sources to byte-code with the runtime's own interpreter, so the `.pyc` magic
// number and format match the CPython inside Pyodide: the `--compile-pyc` reducer of `pack`.
//
// Usage: node compile_pyc.mjs SPEC.json
// SPEC: { runtime: DIR, items: [[SOURCE, DFILE]...], out_dir: DIR, out: PATH }
// Writes OUT_DIR/<i>.pyc for every item that compiles (unchecked-hash pycs: no source is shipped
// to check against), and OUT: { errors: { "<i>": message } }.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { loadPyodide } = await import(pathToFileURL(path.join(spec.runtime, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: spec.runtime + path.sep, stdout: () => {}, stderr: () => {} });
pyodide.FS.mkdirTree("/tmp/pp");
spec.items.forEach(([source], i) => pyodide.FS.writeFile(`/tmp/pp/${i}.py`, fs.readFileSync(source)));
pyodide.globals.set("_pp_dfiles", JSON.stringify(spec.items.map(([, dfile]) => dfile)));
const errors = JSON.parse(pyodide.runPython(`
import json, py_compile
errors = {}
for i, dfile in enumerate(json.loads(_pp_dfiles)):
    try:
        py_compile.compile(f"/tmp/pp/{i}.py", cfile=f"/tmp/pp/{i}.pyc", dfile=dfile, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as e:
        errors[str(i)] = str(e.exc_value)
json.dumps(errors)
`));
spec.items.forEach((_, i) => {
  if (!(String(i) in errors)) {
    fs.writeFileSync(path.join(spec.out_dir, `${i}.pyc`), pyodide.FS.readFile(`/tmp/pp/${i}.pyc`));
  }
});
fs.writeFileSync(spec.out, JSON.stringify({ errors }));
