//! Transfer and integrity: the errors that name a pinned file, progress, and a pinned file's
//! parts (frames) checked against the manifest as they arrive.
// The eager zips' transfer form (MANIFEST.transfer). "deflate" and "precompressed" are zips as
// they are (a host may compress them in transit, which the browser undoes); "gzip" and "zstd"
// are one compressed stream per zip, decoded here: gzip by the platform (DecompressionStream,
// Node's zlib), zstd by the decoder written beside this file (neither Chromium nor Node 20 has
// zstd in DecompressionStream), imported from the checked bytes (a blob: or data: URL), never
// from a second fetch of its URL.
// (fzstd is given no output buffer: into one of the right size it decodes 4x slower.)
const zstdDecode = (module) => (bytes) => module.then((m) => m.decompress(bytes));

// A module from bytes already checked: the browser's blob: URL (revoked by `close`).
function blobModuleURL(bytes) {
  return URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
}

// How every error about a pinned file names it (`what`) and what was packed (`packed`).
function described(name, url, pinned) {
  return { what: `loadBundle: ${name} from ${url}`, packed: `the file packed: ${pinned.size} bytes, ${pinned.sha256}` };
}

// The error for a whole file that is not the one packed (`received`: its digest, null when its
// size differs). For pyodide.mjs, when the file says it is another release (its version string,
// read, not run), the error says that instead.
function notPacked(name, url, bytes, received, pinned, indexURL) {
  if (name === "pyodide.mjs") {
    const version = /\bvar [\w$]+="(\d+\.\d+\.\d+[\w.]*)";/.exec(new TextDecoder().decode(bytes))?.[1];
    if (version && version !== MANIFEST.pyodide_version) return anotherRelease(indexURL, version);
  }
  const { what, packed } = described(name, url, pinned);
  if (bytes.length < pinned.size) return new Error(`${what} was cut short: ${bytes.length} bytes arrived (${packed})`);
  if (bytes.length > pinned.size) return new Error(`${what} is not the file packed: received ${bytes.length} bytes; ${packed}`);
  return new Error(`${what} is not the file packed: received ${bytes.length} bytes, ${received}; ${packed}`);
}

// Byte-code, paths and extension modules are bound to one release.
function anotherRelease(indexURL, version) {
  return new Error(
    `loadBundle: this bundle was packed for Pyodide ${MANIFEST.pyodide_version}, but ` +
    `${indexURL} serves Pyodide ${version ?? "of an unknown version"}: ` +
    `load it with Pyodide ${MANIFEST.pyodide_version}, or pack again against ${version}`);
}

// A promise with its settle functions outside.
function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => Object.assign(d, { resolve, reject }));
  d.promise.catch(() => {}); // (awaited later; a rejection before then is not "unhandled")
  return d;
}

// What onProgress is told: the phase, the bytes downloaded of the total, the modules loaded.
function progressReporter(onProgress) {
  const total = MANIFEST.files[MANIFEST.bundle].size + MANIFEST.files[MANIFEST.stdlib].size;
  const state = { phase: "runtime", bytes: [0, total], modules: [0, MANIFEST.dynlibs.length] };
  const emit = () => onProgress?.({ phase: state.phase, bytes: [...state.bytes], modules: [...state.modules] });
  return {
    phase(name) { state.phase = name; emit(); },
    bytes(n) { state.bytes[0] += n; emit(); },
    module() { state.modules[0] += 1; emit(); },
  };
}

// A pinned file's parts, each a promise of its bytes as fetched, checked against the manifest
// (size and sha256) as soon as its last byte is in: one part per frame of a framed file (the
// zstd bundle: MANIFEST.bundle_frames, whole zip entries each, the extension modules first, so
// they are installed and loaded while the rest downloads), else one for the whole file.
// `chunks` yields the body as it arrives; `digest` gives a promise of `sha256-<base64>` (null:
// checkIntegrity false, only the sizes are checked).
function checkedParts(chunks, name, url, frames, digest) {
  const pinned = MANIFEST.files[name];
  const wire = frames?.length ? frames : [[pinned.size, null, pinned.sha256]];
  const parts = wire.map(() => deferred());
  const { what, packed } = described(name, url, pinned);
  (async () => {
    let got = 0;
    let next = 0;
    let frameStart = 0;
    let frame = new Uint8Array(wire[0][0]);
    let filled = 0;
    try {
      for await (const chunk of chunks) {
        for (let at = 0; at < chunk.length;) {
          if (next === wire.length) throw new Error(`${what} is not the file packed: more than ${packed}`);
          const take = Math.min(chunk.length - at, frame.length - filled);
          frame.set(chunk.subarray(at, at + take), filled);
          [at, filled, got] = [at + take, filled + take, got + take];
          if (filled < frame.length) continue;
          const [index, start, bytes, [size, , sha256]] = [next, frameStart, frame, wire[next]];
          parts[index].resolve(!digest ? bytes : digest(bytes).then((received) => {
            if (received === sha256) return bytes;
            throw new Error(`${what} is not the file packed: ` + (wire.length > 1
              ? `bytes ${start}-${start + size - 1} (frame ${index + 1} of ${wire.length}) are ${received}, packed: ${sha256} (${packed})`
              : `received ${size} bytes, ${received}; ${packed}`));
          }));
          [frameStart, next, filled] = [frameStart + size, next + 1, 0];
          frame = next < wire.length ? new Uint8Array(wire[next][0]) : new Uint8Array(0);
        }
      }
    } catch (err) {
      if (String(err.message).startsWith(what)) throw err;
      if (err.status) throw new Error(`${what}: HTTP ${err.status}`);
      throw new Error(`${what} failed after ${got} bytes (${packed}): ${err.message ?? err}`);
    }
    if (got !== pinned.size) throw new Error(`${what} was cut short: ${got} bytes arrived (${packed})`);
  })().catch((err) => parts.forEach((part) => part.reject(err)));
  return parts.map((part) => part.promise);
}

// A response body as it arrives (an error's `status`: the HTTP status of a response not ok).
async function* bodyChunks(url) {
  const r = await fetch(url);
  if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

