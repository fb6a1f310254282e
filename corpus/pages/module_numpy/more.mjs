// Another page of the same site: what it imports beyond index.html's is traced with
// `pack index.html --input more.html`.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const pyodide = await loadPyodide();
await pyodide.loadPackage("numpy");
document.getElementById("out").textContent = pyodide.runPython(`
import statistics
import numpy as np
values = np.linspace(0, 1, 5)
f"linspace {values.tolist()} median {statistics.median(values.tolist())}"
`);
