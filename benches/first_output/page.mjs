// The page side of the first-output bench (serve_and_measure.mjs inlines this file into the page
// as its module script, then calls `run(config)`). On the page's main thread it loads the app one
// of two ways and runs it:
//
// - "full": the full environment, as a page does it today: the runtime's pyodide.mjs, loadPyodide
//   with the runtime's full python_stdlib.zip, every wheel fetched (started at page start, so the
//   downloads overlap Pyodide's start, as the bundle's loader does) and unpacked with
//   pyodide.unpackArchive(buffer, "wheel", {extractDir: <site-packages>}); extension modules load
//   when imported. Lock packages (the science apps) load with pyodide.loadPackage.
// - "bundle": the packed output folder's own loader.mjs (loadBundle), with every file's digest
//   checked or, config.checkIntegrity false, none (what the checks cost).
//
// Then the app's source runs as __main__ (pyodide.runPython). Times are on the page's clock:
// performance.now() counts from navigation start (performance.timeOrigin), so the first output
// line's time is the time from navigation to first output. The result goes to window.__ppDone.

const now = () => performance.now();

async function fetchBuffer(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

export async function run(config) {
  const timings = { page_ms: now() };
  let firstOutput = null;
  let stdout = "";
  let stderr = "";
  // Pyodide's batched handlers: called once per line.
  const onStdout = (line) => {
    firstOutput ??= now();
    stdout += line + "\n";
  };
  const onStderr = (line) => {
    stderr += line + "\n";
  };
  let error = null;
  try {
    const appSource = fetchBuffer(config.app).then((b) => new TextDecoder().decode(b));
    appSource.catch(() => {});
    let pyodide;
    if (config.mode === "full") {
      const wheels = config.wheels.map((url) => fetchBuffer(url));
      for (const w of wheels) w.catch(() => {});
      let t = now();
      const { loadPyodide } = await import(config.indexURL + "pyodide.mjs");
      timings.import_loader_ms = now() - t;
      t = now();
      pyodide = await loadPyodide({ indexURL: config.indexURL, stdout: onStdout, stderr: onStderr });
      timings.load_pyodide_ms = now() - t;
      t = now();
      const site = pyodide.runPython("import site; site.getsitepackages()[0]");
      for (const wheel of wheels) {
        pyodide.unpackArchive(await wheel, "wheel", { extractDir: site });
      }
      // Lock packages (numpy, scipy, ...), as a page loads them: with their dependencies and
      // shared libraries, every extension module preloaded.
      if (config.packages.length) await pyodide.loadPackage(config.packages, { messageCallback: () => {} });
      timings.fetch_unpack_ms = now() - t;
      // Extension modules are loaded (and compiled) by the import that needs them.
      timings.dynlibs_ms = 0;
    } else {
      let t = now();
      const { loadBundle } = await import(config.loader);
      timings.import_loader_ms = now() - t;
      t = now();
      pyodide = await loadBundle({
        indexURL: config.indexURL,
        stdout: onStdout,
        stderr: onStderr,
        timings: (x) => Object.assign(timings, x),
        checkIntegrity: config.checkIntegrity,
      });
      timings.loader_ms = now() - t;
    }
    const source = await appSource;
    timings.run_start_ms = now();
    try {
      pyodide.runPython(source, { filename: config.filename });
      pyodide.runPython("import sys; sys.stdout.flush(); sys.stderr.flush()");
    } catch (err) {
      error = String(err && err.message ? err.message : err);
    }
    timings.run_ms = now() - timings.run_start_ms;
  } catch (err) {
    error = String(err && err.stack ? err.stack : err);
  }
  timings.total_ms = now();
  timings.first_output_ms = firstOutput;
  window.__ppDone({ stdout, stderr, error, timings });
}
