//! Transfer and integrity: the errors that name a pinned file, progress, a pinned file's parts
//! (frames) checked against the manifest as they arrive, and a response checked as it streams.
// The eager zips' transfer form (MANIFEST.transfer). "deflate" and "precompressed" are zips as
// they are (a host may compress them in transit, which the browser undoes); "gzip" and "zstd"
// are one compressed stream per zip, decoded here: gzip by the platform (DecompressionStream,
// Node's zlib), zstd by the decoder written beside this file (neither Chromium nor Node 20 has
// zstd in DecompressionStream), imported from the checked bytes (a blob: or data: URL), never
// from a second fetch of its URL.
// (fzstd is given no output buffer: into one of the right size it decodes 4x slower.)
const zstdDecode = (module) => (bytes) => module.then((m) => m.decompress(bytes));

// A file's name as deployed: the first 16 hex digits of its digest (`sha256-<base64>`) before
// the first extension of its last component (bundle.zip.zst -> bundle.0123456789abcdef.zip.zst),
// the rule pack names files by (crates/pyodide_pack_pack/src/content.rs).
function contentName(path, sha256) {
  const hex = Array.from(atob(sha256.slice(7)).slice(0, 8), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  const base = path.lastIndexOf("/") + 1;
  const dot = path.indexOf(".", base + 1);
  return dot < 0 ? `${path}.${hex}` : `${path.slice(0, dot)}.${hex}${path.slice(dot)}`;
}

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
    // (Capped: a file fetched once more past caches counts its first bytes twice.)
    bytes(n) { state.bytes[0] = Math.min(state.bytes[0] + n, total); emit(); },
    module() { state.modules[0] += 1; emit(); },
  };
}

// A pinned file's parts, each a promise of its bytes as fetched, checked against the manifest
// (size and sha256) as soon as its last byte is in: one part per frame of a framed file (the
// zstd bundle: MANIFEST.bundle_frames, whole zip entries each, the extension modules first, so
// they are installed and loaded while the rest downloads), else one for the whole file.
// `chunks` yields the body as it arrives; `digest` gives a promise of `sha256-<base64>` (null:
// checkIntegrity false, only the sizes are checked). `refetch` (a browser's, where a response
// may have come from a cache): the body fetched again bypassing caches; a part that does not
// match is then read from it once, the parts before it kept (each matched its own digest).
function checkedParts(chunks, name, url, frames, digest, refetch = null) {
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
    let skip = 0; // (bytes of a second response already read from the first)
    let retried = !refetch;
    try {
      attempt: for (;;) {
        try {
          for await (let chunk of chunks) {
            if (skip) {
              const drop = Math.min(skip, chunk.length);
              [skip, chunk] = [skip - drop, chunk.subarray(drop)];
            }
            for (let at = 0; at < chunk.length;) {
              if (next === wire.length) throw new Error(`${what} is not the file packed: more than ${packed}`);
              const take = Math.min(chunk.length - at, frame.length - filled);
              frame.set(chunk.subarray(at, at + take), filled);
              [at, filled, got] = [at + take, filled + take, got + take];
              if (filled < frame.length) continue;
              const [index, start, bytes, [size, , sha256]] = [next, frameStart, frame, wire[next]];
              const received = digest ? await digest(bytes) : sha256;
              if (received !== sha256) {
                if (!retried) {
                  [retried, chunks, skip, got, filled] = [true, refetch(), start, start, 0];
                  continue attempt;
                }
                throw new Error(`${what} is not the file packed: ` + (wire.length > 1
                  ? `bytes ${start}-${start + size - 1} (frame ${index + 1} of ${wire.length}) are ${received}, packed: ${sha256} (${packed})`
                  : `received ${size} bytes, ${received}; ${packed}`));
              }
              parts[index].resolve(bytes);
              [frameStart, next, filled] = [frameStart + size, next + 1, 0];
              frame = next < wire.length ? new Uint8Array(wire[next][0]) : new Uint8Array(0);
            }
          }
        } catch (err) {
          // (A download that stalled: once more past caches, from the frame it stalled in.)
          if (!err?.stalled || retried) throw err;
          [retried, chunks, skip, got, filled] = [true, refetch(), frameStart, frameStart, 0];
          continue;
        }
        if (got !== pinned.size && !retried) {
          [retried, chunks, skip, got, filled] = [true, refetch(), frameStart, frameStart, 0];
          continue;
        }
        break;
      }
    } catch (err) {
      if (String(err.message).startsWith(what)) throw err;
      if (err.status) throw new Error(`${what}: HTTP ${err.status}`);
      throw new Error(`${what} failed after ${got} bytes (${packed}): ${err.message ?? err}`);
    }
    if (got !== pinned.size) {
      const again = retried && refetch ? " (fetched once more past caches, after a first response that did not match)" : "";
      throw new Error(`${what} was cut short: ${got} bytes arrived${again} (${packed})`);
    }
  })().catch((err) => parts.forEach((part) => part.reject(err)));
  return parts.map((part) => part.promise);
}

// `response`, its body checked against `pinned` as it streams: each chunk is passed on when the
// next arrives, the last one only once the size and digest of the whole match; else the file is
// fetched once more, past every cache (the first response may have been a cache's), and its
// rest passed on if it matches whole and begins with the bytes passed on already. Failing that
// the body fails, and the error is given to `fail` and kept as the response's `checkError`.
// A body that stalls (`stallMs` without a byte) is completed from a second fetch likewise.
function checkedResponse(response, name, url, pinned, digest, fail, stallMs = 0) {
  if (!digest) return response;
  const { what, packed } = described(name, url, pinned);
  const reader = response.body.getReader();
  const chunks = [];
  let got = 0;
  let checked = null;
  let cancelled = false;
  let retried = false;
  let sent = 0; // (how many of the chunks were passed on)
  const pass = (controller, index) => {
    controller.enqueue(chunks[index]);
    sent = index + 1;
  };
  // The rest of the file after what was passed on, from a second fetch; null if it is not the
  // file packed either, or does not begin with the bytes passed on.
  const rest = async () => {
    if (retried) return null;
    retried = true;
    const again = [];
    try {
      for await (const chunk of bodyChunks(retryURL(url), { cache: "no-store" }, stallMs)) again.push(chunk);
    } catch {
      return null;
    }
    const bytes = new Uint8Array(again.reduce((n, chunk) => n + chunk.length, 0));
    again.reduce((at, chunk) => (bytes.set(chunk, at), at + chunk.length), 0);
    if (bytes.length !== pinned.size || (await digest(bytes)) !== pinned.sha256) return null;
    let at = 0;
    for (const chunk of chunks.slice(0, sent)) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== bytes[at + i]) return null;
      at += chunk.length;
    }
    return bytes.subarray(at);
  };
  const body = new ReadableStream({
    async pull(controller) {
      try {
        for (;;) {
          let read;
          try {
            read = await readWithin(reader, stallMs);
          } catch (err) {
            if (cancelled) return;
            // (Stalled: the rest from a second fetch, past caches.)
            if (err?.stalled) reader.cancel().catch(() => {});
            const tail = err?.stalled ? await rest() : null;
            if (tail) return (controller.enqueue(tail), controller.close());
            throw new Error(`${what} failed after ${got} bytes (${packed}): ${err?.message ?? err}`);
          }
          if (cancelled) return;
          const { done, value } = read;
          if (done) break;
          got += value.length;
          chunks.push(value);
          // (pyodide.mjs is read to its end: another release's says which it is.)
          if (got > pinned.size && name !== "pyodide.mjs") {
            reader.cancel().catch(() => {});
            const tail = await rest();
            if (tail) return (controller.enqueue(tail), controller.close());
            throw new Error(`${what} is not the file packed: more than ${packed}`);
          }
          if (chunks.length > 1) return pass(controller, chunks.length - 2);
        }
        const whole = new Uint8Array(got);
        chunks.reduce((at, chunk) => (whole.set(chunk, at), at + chunk.length), 0);
        const received = got === pinned.size ? await digest(whole) : null;
        if (received !== pinned.sha256) {
          const tail = await rest();
          if (tail) return (controller.enqueue(tail), controller.close());
          throw notPacked(name, url, whole, received, pinned, url.slice(0, url.lastIndexOf("/") + 1));
        }
        if (chunks.length) pass(controller, chunks.length - 1);
        controller.close();
      } catch (err) {
        if (cancelled) return;
        checked.checkError = err;
        fail(err);
        controller.error(err);
      }
    },
    // (The consumer gave up, e.g. a compile the page's policy refused: so does the download.)
    cancel(reason) {
      cancelled = true;
      return reader.cancel(reason);
    },
  });
  checked = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  return checked;
}

// The URL of a second request for a file whose first response did not match: a query of its
// own, so that no HTTP cache, CDN or service worker answers it from what it holds (a static
// host serves the file whatever the query).
function retryURL(url) {
  return `${url}${url.includes("?") ? "&" : "?"}pyodide-pack-retry=${Date.now()}`;
}

// A response body as it arrives (an error's `status`: the HTTP status of a response not ok);
// `init`: fetch's options. A reader that stops early cancels the download. `stallMs`: the
// download is aborted with a `stalled` error when no byte (nor the response) has come for that
// long while this reader waits (0: it waits for ever).
async function* bodyChunks(url, init, stallMs = 0) {
  const abort = new AbortController();
  let timer = null;
  const watch = () => {
    clearTimeout(timer);
    if (stallMs) timer = setTimeout(() => abort.abort(stalledError(stallMs)), stallMs);
  };
  const why = (err) => { throw abort.signal.aborted ? abort.signal.reason : err; };
  watch();
  try {
    const r = await fetch(url, { ...init, signal: abort.signal }).catch(why);
    if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
    const reader = r.body.getReader();
    try {
      for (;;) {
        watch();
        const { done, value } = await reader.read().catch(why);
        // (The time the consumer takes with a chunk is not the network's.)
        clearTimeout(timer);
        if (done) return;
        yield value;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  } finally {
    clearTimeout(timer);
  }
}

// The error of a download that stalled: fetched once more past caches, then an error.
function stalledError(ms) {
  return Object.assign(new Error(`no bytes came for ${ms / 1000} s`), { stalled: true });
}

// fetch(url), or a `stalled` error if no response has come after `ms` (0: waits for ever).
async function fetchWithin(url, ms) {
  if (!ms) return fetch(url);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(stalledError(ms)), ms);
  try {
    return await fetch(url, { signal: abort.signal });
  } catch (err) {
    throw abort.signal.aborted ? abort.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
}

// `reader.read()`, or a `stalled` error after `ms` without a chunk (0: waits for ever).
function readWithin(reader, ms) {
  if (!ms) return reader.read();
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(stalledError(ms)), ms); });
  return Promise.race([reader.read(), late]).finally(() => clearTimeout(timer));
}
