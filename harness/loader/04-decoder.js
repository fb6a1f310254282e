//! The zstd decoding worker (or this thread where no worker may start), and the eager files
//! decoded from their transfer form.
// In a browser zstd frames are decoded in a module worker, so that decoding (~0.4 s for
// scikit-learn's 66 MB bundle) runs beside Python's start instead of after it, on the one thread
// both need. The worker runs only what this file holds: its source is DECODE_WORKER (from a blob:
// URL), and the page posts it the decoder's URL ({decoder}: a blob: URL of the checked bytes),
// then each checked frame ({id, bytes}, the buffer transferred); it answers {id, bytes} or
// {id, error}.
const DECODE_WORKER = `let found;
const decoder = new Promise((resolve) => { found = resolve; });
self.onmessage = async ({ data }) => {
  if (data.decoder !== undefined) return found(import(data.decoder));
  try {
    const out = (await decoder).decompress(data.bytes);
    self.postMessage({ id: data.id, bytes: out }, [out.buffer]);
  } catch (err) {
    self.postMessage({ id: data.id, error: String(err?.message ?? err) });
  }
};
self.postMessage({ started: true });`;

// The page's side: decode(bytes) in that worker, or on this thread where no worker starts (a
// Content-Security-Policy whose worker-src has no blob:): frames are handed over only once the
// worker has said it runs. `decoderURL` is a promise of the decoder module's URL; close() ends
// the worker.
function zstdDecoder(decoderURL) {
  const onThread = () => {
    const module = decoderURL.then((url) => import(url));
    module.catch(() => {}); // (its error reaches each decode)
    return zstdDecode(module);
  };
  const source = URL.createObjectURL(new Blob([DECODE_WORKER], { type: "text/javascript" }));
  let worker;
  try {
    worker = new Worker(source, { type: "module" });
  } catch {
    URL.revokeObjectURL(source);
    return { decode: onThread(), close() {} };
  }
  const pending = new Map();
  let ids = 0;
  let broken = null; // (a worker that failed after it started: its frames are lost)
  const started = deferred();
  worker.onmessage = ({ data: { started: ok, id, bytes, error } }) => {
    if (ok) return started.resolve(true);
    const request = pending.get(id);
    pending.delete(id);
    if (error === undefined) request?.resolve(bytes);
    else request?.reject(new Error(error));
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    broken = new Error(`the decoding worker failed: ${event.message ?? "it stopped"}`);
    started.resolve(false);
    for (const request of pending.values()) request.reject(broken);
    pending.clear();
  };
  const ready = Promise.all([started.promise, decoderURL]).then(([ok, decoder]) => {
    if (ok) worker.postMessage({ decoder });
    return ok ? null : onThread();
  });
  ready.catch(() => {}); // (the decoder's own error reaches each decode)
  return {
    async decode(bytes) {
      const here = await ready;
      if (here) return here(bytes);
      if (broken) throw broken;
      const id = ids++;
      const request = deferred();
      pending.set(id, request);
      worker.postMessage({ id, bytes }, [bytes.buffer]);
      return request.promise;
    },
    close: () => { worker.terminate(); URL.revokeObjectURL(source); },
  };
}

// The eager files: each part checked, then decoded from its transfer form. zstd frames decode
// alone (a frame's zip bytes are checked against the manifest's size too); a gzip stream and a
// plain zip are one part. `refetch(url)`: the body again, bypassing caches (null in Node).
function eagerParts(start, name, url, frames, fetchChunks, digest, decoder, gunzip, refetch = null) {
  const form = MANIFEST.transfer;
  const sizes = frames?.map(([, size]) => size);
  const again = refetch && (() => refetch(url));
  return checkedParts(fetchChunks(start, url), name, url, frames, digest, again).map((part, index) =>
    part.then(async (bytes) => {
      if (form === "gzip") return gunzip(bytes);
      if (form !== "zstd") return bytes;
      const out = await decoder.decode(bytes).catch((err) => {
        if (String(err.message).startsWith("loadBundle:")) throw err; // (the decoder's own check)
        throw new Error(`loadBundle: ${name} from ${url}: frame ${index + 1} does not decode: ${err.message ?? err}`);
      });
      if (sizes && out.length !== sizes[index]) {
        throw new Error(`loadBundle: ${name} from ${url}: frame ${index + 1} decodes to ${out.length} bytes, not the ${sizes[index]} packed`);
      }
      return out;
    }));
}

// An empty zip: what Pyodide fetches as its standard library, where the real one, fetched and
// checked here, is written in its place by the fsInit hook (Pyodide cannot decode a stream, nor
// check one).
const EMPTY_ZIP = new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

