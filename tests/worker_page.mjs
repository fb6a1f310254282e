// The worker of tests/worker_page.html: index.html's steps, in a module worker.
import { loadBundle } from "./loader.mjs";

const post = (message) => self.postMessage(message);
try {
  const query = new URL(import.meta.url).searchParams;
  const indexURL = query.get("indexURL");
  const stallTimeoutMs = query.get("stallTimeoutMs");
  const pyodide = await loadBundle({
    ...(indexURL ? { indexURL } : {}),
    ...(stallTimeoutMs ? { stallTimeoutMs: Number(stallTimeoutMs) } : {}),
    stdout: (line) => post({ line }),
    stderr: (line) => post({ line }),
  });
  const source = await (await fetch("./app.py")).text();
  pyodide.FS.writeFile("/home/pyodide/app.py", source);
  pyodide.runPython('import runpy\nrunpy.run_path("/home/pyodide/app.py", run_name="__main__")');
  post({ state: "done", status: "app.py ran" });
} catch (err) {
  post({ state: "failed", status: "Failed: " + (err?.message ?? err) });
}
