// The page side of browser validation (run_browser.mjs serves it): loads the bundle through its
// loader.mjs, writes the app's files into Pyodide's file system, runs them with runner.py, and
// reports each step through `emit`. It runs on the page's main thread, or in a module worker the
// page starts (then it answers the page's message with the same events, posted back).
//
// Events: {type: "stdout" | "stderr", line, at}, {type: "lazy", path, bytes, ms} (a lazy file
// fetched), {type: "done", error, timings},
// {type: "error", kind, message}. `at` is a time on the page's clock (performance.timeOrigin +
// performance.now()), so the page tells how long after navigation the first line came.

const now = () => performance.timeOrigin + performance.now();

export async function runApp(config, emit) {
  try {
    await run(config, emit);
  } catch (err) {
    emit({ type: "error", kind: "page", message: String(err && err.stack ? err.stack : err) });
  }
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function run(config, emit) {
  const timings = {};
  const started = performance.now();
  const { loadBundle } = await import(config.loader);
  let pyodide;
  try {
    pyodide = await loadBundle({
      indexURL: config.indexURL,
      stdout: (line) => emit({ type: "stdout", line, at: now() }),
      stderr: (line) => emit({ type: "stderr", line, at: now() }),
      timings: (t) => Object.assign(timings, t),
      onLazyFetch: ({ path, bytes, ms }) => emit({ type: "lazy", path, bytes, ms }),
    });
  } catch (err) {
    emit({ type: "error", kind: "load", message: String(err && err.message ? err.message : err) });
    return;
  }
  timings.loader_ms = performance.now() - started;
  for (const [url, dest] of config.files) {
    const bytes = await fetchBytes(url);
    pyodide.FS.mkdirTree(dest.slice(0, dest.lastIndexOf("/")) || "/");
    pyodide.FS.writeFile(dest, bytes);
  }
  const source = new TextDecoder().decode(await fetchBytes(config.runner));
  const runner = pyodide.runPython(source);
  const t = performance.now();
  const result = JSON.parse(runner(config.entry, config.input ?? undefined));
  runner.destroy();
  timings.run_ms = performance.now() - t;
  emit({ type: "done", error: result.error, timings, at: now() });
}

// In a worker: the page posts the config, this answers with the events.
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.onmessage = (event) => runApp(event.data, (message) => self.postMessage(message));
}
