// A page that loads Pyodide itself: loadPyodide, then loadPackage, then runPython.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const pyodide = await loadPyodide();
await pyodide.loadPackage(["numpy"]);
const text = pyodide.runPython(`
import numpy as np
a = np.arange(12).reshape(3, 4)
print("sum", a.sum())
str(a @ a.T)
`);
document.getElementById("out").textContent = text;
