//! A browser: the runtime's files pinned and answered to Pyodide through a fetch hook, each body
//! checked as it streams.
async function loadBrowser(options, progress, checking) {
  const copied = MANIFEST.runtime_dir && new URL(MANIFEST.runtime_dir + "/", import.meta.url);
  // (A relative indexURL is the page's, as Pyodide reads it; absolute, so that the URLs Pyodide
  // asks for are the ones answered below.)
  const indexURL = new URL(options.indexURL ?? copied ?? MANIFEST.cdn, globalThis.location?.href).href;
  const base = indexURL.endsWith("/") ? indexURL : indexURL + "/";
  const stdLibURL = String(options.stdLibURL ?? pinnedURL(MANIFEST.stdlib));
  const bundleURL = String(options.bundleURL ?? pinnedURL(MANIFEST.bundle));
  const lazyBase = String(options.lazyURL ?? new URL(MANIFEST.lazy.dir + "/", import.meta.url));
  const lazyRoot = lazyBase.endsWith("/") ? lazyBase : lazyBase + "/";
  const stallMs = options.stallTimeoutMs ?? STALL_MS;
  const fetchChunks = (start, url, init) => (async function* () {
    await start;
    for await (const chunk of bodyChunks(url, init, stallMs)) {
      progress.bytes(chunk.length);
      yield chunk;
    }
  })();
  // (A second fetch of a file that did not match: past every cache.)
  const refetch = (url) => fetchChunks(Promise.resolve(), retryURL(url), { cache: "no-store" });
  // SubtleCrypto digests off the page's thread.
  const digest = checking ? async (bytes) =>
    "sha256-" + btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))) : null;
  const gunzip = async (bytes) =>
    new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
  const runtime = browserRuntime(base, digest, stallMs);
  const offline = offlineWorker();
  let decoder = null;
  if (MANIFEST.transfer === "zstd") {
    const url = pinnedURL(MANIFEST.decoder).href;
    decoder = zstdDecoder(runtime.checkedModuleURL(MANIFEST.decoder, url, MANIFEST.files[MANIFEST.decoder]));
  }
  // The bundle is needed only once Python has booted, the runtime's wasm and the stdlib before:
  // its download starts when the runtime is in (Pyodide's fsInit hook), so it does not share the
  // link with them, and downloads while Python boots. (Measured on a 20 Mbit/s link: pydantic's
  // first output 0.26 s sooner than with all three at once.)
  const started = deferred();
  const eager = (start, name, url, frames) =>
    eagerParts(start, name, url, frames, fetchChunks, digest, decoder, gunzip, digest && refetch);
  const bundle = eager(started.promise, MANIFEST.bundle, bundleURL, MANIFEST.bundle_frames);
  const [stdlib] = eager(Promise.resolve(), MANIFEST.stdlib, stdLibURL, null);
  for (const part of [...bundle, stdlib]) part.catch(() => {}); // (awaited in load, or abandoned)
  let loaded;
  try {
    loaded = await runtime.module;
  } catch (err) {
    decoder?.close();
    runtime.close();
    throw err;
  }
  return {
    indexURL: base, loadPyodide: loaded.loadPyodide, version: loaded.version, bundle, stdlib,
    startBundle: started.resolve, stdLibURL: runtime.placeholderURL,
    lazyURL: (installPath, sha256) => new URL(contentName(installPath.slice(1), sha256), lazyRoot).href,
    fetchSync: fetchSyncBrowser,
    fetchAsync: async (url, init) => {
      const r = await fetch(url, init);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    },
    retryURL: checking ? retryURL : null,
    fetched: offline.fetched,
    loaded: offline.register,
    held: offline.held,
    sha256Sync: checking ? sha256Sync : null,
    close: () => { decoder?.close(); runtime.close(); },
  };
}

// The Pyodide runtime in a browser, its files pinned by the digests of those packed against
// (MANIFEST.runtime.files; `digest` null: checkIntegrity false, nothing is checked). Pyodide has
// no option to check what it fetches itself (its getInstantiateWasmFunc fetches
// pyodide.asm.wasm, its loadLockFile pyodide-lock.json, by URL), so while loadPyodide runs,
// `fetch` answers those URLs, and the placeholder stdlib's, from here (only these URLs, and only
// until loadPyodide's own call settles): the downloads start at once, and each body streams to
// Pyodide as it arrives (it compiles the wasm while it downloads) but for its last chunk, passed
// on only once the whole file matches, so no byte of another file ever runs. The two scripts
// are fetched and checked whole and imported from blob: URLs of the checked bytes: pyodide.mjs,
// and the bootstrap, which loadPyodide then does not fetch itself: pyodide.asm.js sets the
// `_createPyodideModule` global loadPyodide looks for before loading it, and a pyodide.asm.mjs
// bootstrap's default export is passed as the `createPyodideModule` option (the releases offer
// no other way to hand over a checked bootstrap).
function browserRuntime(base, digest, stallMs) {
  const { bootstrap, files } = MANIFEST.runtime;
  const failed = deferred();
  let failure = null;
  failed.promise.catch((err) => { failure = err; });
  const blobs = [];
  // A Content-Security-Policy that refuses what the runtime needs makes Pyodide log and wait
  // forever (a wasm it may not compile) or an import fail with no reason given: the violation
  // is the error instead. (worker-src is not needed: the decoder then runs on this thread.)
  let violation = null;
  const ours = (uri) => ["wasm-eval", "eval", "blob"].includes(uri) || uri?.startsWith(base) ||
    uri?.startsWith(new URL(".", import.meta.url).href);
  const onViolation = (event) => {
    // (Only what is enforced and is the loader's own: a page's other resources are its business.)
    if (violation || event.disposition !== "enforce" || !ours(event.blockedURI)) return;
    // (worker-src: the decoder then runs on this thread; img-src: the page's icon.)
    if (!/^(script-src|connect-src|default-src)/.test(event.effectiveDirective)) return;
    const blocked = { "wasm-eval": "compiling WebAssembly", blob: "a script from a blob: URL" }[event.blockedURI]
      ?? event.blockedURI ?? "a resource";
    violation = new Error(`loadBundle: the page's Content-Security-Policy refused ${blocked} ` +
      `(${event.effectiveDirective}: "${event.originalPolicy}"); the minimal policy a page needs is in pyodide-pack's docs/integrity.md`);
    failed.reject(violation);
  };
  globalThis.addEventListener?.("securitypolicyviolation", onViolation);
  // (The violation's event may come just after the failure it caused.)
  const orViolation = async (err) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    throw violation ?? err;
  };
  const url = (name) => new URL(name, base).href;
  // The response for a pinned file, its body checked as it streams; a failure also rejects
  // `failed`, which loadPyodide is raced against (Pyodide may only log a failed fetch).
  const fetchChecked = (name, address = url(name), pinned = files[name]) => fetchWithin(address, stallMs).then((r) => {
    if (!r.ok) throw new Error(`loadBundle: ${name} from ${address}: HTTP ${r.status}`);
    return checkedResponse(r, name, address, pinned, digest, failed.reject, stallMs);
  }).catch((err) => {
    const error = String(err.message).startsWith("loadBundle:") ? err
      : new Error(`loadBundle: ${name} from ${address} failed: ${err.message ?? err}`);
    failed.reject(error);
    throw error;
  });
  const checkedModuleURL = (name, address, pinned) => fetchChecked(name, address, pinned)
    // (A body that failed reads as a bare "Failed to fetch": the check's own error instead.)
    .then((r) => r.arrayBuffer().catch((err) => { throw r.checkError ?? err; }))
    .then((bytes) => {
      const module = blobModuleURL(bytes);
      blobs.push(module);
      return module;
    });
  // The placeholder stdlib: a URL Pyodide asks for, answered with an empty zip here (no request).
  const placeholderURL = new URL(`${MANIFEST.stdlib}#placeholder`, import.meta.url).href;
  const answers = new Map([[placeholderURL, () => Promise.resolve(new Response(EMPTY_ZIP))]]);
  // (Unchecked, the files take the same path, so that checkIntegrity: false measures the
  // digests alone.)
  for (const name of ["pyodide.asm.wasm", "pyodide-lock.json"]) {
    const response = fetchChecked(name);
    response.catch(() => {});
    answers.set(url(name), () => response);
  }
  const [main, boot] = [
    checkedModuleURL("pyodide.mjs", url("pyodide.mjs"), files["pyodide.mjs"]),
    checkedModuleURL(bootstrap, url(bootstrap), files[bootstrap]),
  ];
  boot.catch(() => {});
  const module = main.then((u) => import(u)).then(async ({ loadPyodide, version }) => {
    // (The version first: another release's bootstrap would not match either.)
    if (version !== MANIFEST.pyodide_version) return { version };
    const bootModule = await import(await boot);
    const options = bootstrap.endsWith(".mjs") ? { createPyodideModule: bootModule.default } : {};
    return { version, loadPyodide: (config) => loadPyodide({ ...config, ...options }) };
  });
  return {
    placeholderURL,
    checkedModuleURL,
    module: module.catch(orViolation).then(({ loadPyodide, version }) => ({
      version,
      loadPyodide: async (config) => {
        if (failure) throw failure;
        // The hook stays until Pyodide's own call settles, and once a check has failed it
        // refuses the pinned URLs: a Pyodide still booting in the background fetches nothing
        // unchecked.
        const restore = answerFetches(answers, () => failure);
        const inner = loadPyodide(config);
        inner.then(restore, restore);
        const pyodide = await Promise.race([inner.catch(orViolation), failed.promise]);
        const unasked = [...answers.keys()].filter((u) => u !== placeholderURL);
        if (unasked.length && digest) {
          throw new Error(`loadBundle: Pyodide ${version} did not fetch ${unasked.join(", ")}: ` +
            "it could not be checked (load with checkIntegrity: false to go on without)");
        }
        return pyodide;
      },
    })),
    close: () => {
      blobs.forEach((u) => URL.revokeObjectURL(u));
      globalThis.removeEventListener?.("securitypolicyviolation", onViolation);
    },
  };
}

// While it is installed, `fetch` answers each URL of `answers` once, from its function (or,
// once `failure()` gives an error, with that error); any other request goes out as before. Returns the uninstaller (a no-op if another hook came since).
function answerFetches(answers, failure) {
  const original = globalThis.fetch;
  const pinned = new Set(answers.keys());
  const hook = function (input, init) {
    const address = input instanceof Request ? input.url : String(input);
    if (failure() && pinned.has(address)) return Promise.reject(failure());
    const answer = answers.get(address);
    if (!answer) return original.call(this, input, init);
    answers.delete(address);
    return answer();
  };
  globalThis.fetch = hook;
  return () => { if (globalThis.fetch === hook) globalThis.fetch = original; };
}

