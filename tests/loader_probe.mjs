// Loads a packed output through its loader.mjs in Node and runs a line of Python, reporting what
// happened: tests/suite/integrity.rs runs it. Usage: node loader_probe.mjs LOADER INDEXURL PYTHON
// Prints {error: loadBundle's error or null, python: the Python error's last line or null, stdout, stderr}.
import { pathToFileURL } from "node:url";

const [loader, indexURL, python] = process.argv.slice(2);
const result = { error: null, python: null, stdout: "", stderr: "" };
const { loadBundle } = await import(pathToFileURL(loader).href);
try {
  const pyodide = await loadBundle({
    indexURL,
    stdout: (line) => { result.stdout += line + "\n"; },
    stderr: (line) => { result.stderr += line + "\n"; },
  });
  try {
    pyodide.runPython(python);
  } catch (err) {
    result.python = String(err.message).trim().split("\n").pop();
  }
} catch (err) {
  result.error = String(err.message ?? err);
}
// (A Python that failed to start leaves a non-zero exit code behind: the record says what failed.)
process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
