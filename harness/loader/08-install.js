//! Installing: the standard library before Python starts, the bundle's stored entries, the
//! extension modules in order; `loadBundle`, the one export.
// The stdlib, checked, written over Pyodide's placeholder before Python starts (fsInit is
// awaited before the interpreter initialises). Pyodide writes its placeholder from its own
// preRun step, which runs concurrently with this one: wait until it is there, so the real zip is
// the last write. The one difference between releases the loader meets: 0.27 starts fsInit
// before its stdlib step, 0.28-314 after it; waiting covers both (the rest is the same in all).
async function installStdlib(FS, stdlib) {
  const bytes = await stdlib;
  while (!FS.analyzePath(MANIFEST.stdlib_mount).exists) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  FS.writeFile(MANIFEST.stdlib_mount, bytes);
}

// Stored zip entries (the solid forms' bundle.zip, or a frame of it: whole entries, then perhaps
// the central directory) unpacked without copying: each file's node takes a view of the decoded
// bytes (`canOwn`, which MEMFS honours for an array that is not the wasm heap). Python's zipfile,
// behind pyodide.unpackArchive, copies every byte through the heap: for the 66 MB scikit-learn
// bundle that was ~0.4 s. It walks the local headers (pyodide-pack writes sizes there, no data
// descriptors). Returns false, having written nothing, for bytes it does not read (a compressed
// entry, zip64, a name unpackArchive would refuse).
function unpackStoredEntries(FS, bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder();
  const files = [];
  let at = 0;
  while (at + 30 <= bytes.length && view.getUint32(at, true) === 0x04034b50) {
    const flags = view.getUint16(at + 6, true);
    const method = view.getUint16(at + 8, true);
    const size = view.getUint32(at + 18, true);
    const [nameLen, extraLen] = [26, 28].map((o) => view.getUint16(at + o, true));
    const start = at + 30 + nameLen + extraLen;
    if (method !== 0 || flags & 8 || size === 0xffffffff || start + size > bytes.length) return false;
    const name = decoder.decode(bytes.subarray(at + 30, at + 30 + nameLen));
    if (name.startsWith("/") || name.split("/").includes("..")) return false;
    files.push([name, start, size]);
    at = start + size;
  }
  // After the entries: the central directory or the end record, or nothing (a frame's end).
  if (at < bytes.length && (at + 4 > bytes.length || ![0x02014b50, 0x06054b50].includes(view.getUint32(at, true)))) {
    return false;
  }
  for (const [name, start, size] of files) {
    const path = "/" + name;
    if (path.endsWith("/")) {
      FS.mkdirTree(path);
      continue;
    }
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")) || "/");
    FS.writeFile(path, bytes.subarray(start, start + size), { canOwn: true });
  }
  return true;
}

// The lazy files an offline app's service worker holds (those read on earlier visits), checked:
// url -> bytes. (Nothing without --offline, or with no worker in control yet.)
async function heldLazyFiles(source) {
  if (!source.held) return new Map();
  const urls = new Map(MANIFEST.lazy.files.map(([path, size, sha256]) => [source.lazyURL(path, sha256), [size, sha256]]));
  const held = await source.held([...urls.keys()]).catch(() => new Map());
  const checked = new Map();
  for (const [url, bytes] of held) {
    const [size, sha256] = urls.get(url) ?? [];
    // (checkIntegrity false: the size alone, as a fetched lazy file.)
    const digest = source.sha256Sync ? source.sha256Sync(bytes) : sha256;
    if (bytes?.length === size && digest === sha256) checked.set(url, bytes);
  }
  return checked;
}

export async function loadBundle(options = {}) {
  const progress = progressReporter(options.onProgress);
  const checking = options.checkIntegrity !== false;
  const source = IS_NODE ? await loadNode(options, progress, checking) : await loadBrowser(options, progress, checking);
  try {
    const pyodide = await load(source, options, progress);
    source.loaded?.();
    return pyodide;
  } finally {
    source.close();
  }
}

async function load(source, options, progress) {
  const timings = {};
  for (const part of source.bundle) part.catch(() => {});
  source.stdlib?.catch(() => {});
  // Byte-code, paths and extension modules are bound to one release: refuse another up front.
  if (source.version !== MANIFEST.pyodide_version) throw anotherRelease(source.indexURL, source.version);
  let t = performance.now();
  progress.phase("runtime");
  // A stdlib that could not be fetched, checked or decoded leaves Python the empty placeholder,
  // and loadPyodide fails for that with a message that does not say why: the cause is thrown
  // instead, and Python's own complaint about it is not passed on. (fsInit must not throw: not
  // every release catches it, and an uncaught rejection there ends Node or hangs a page.)
  let stdlibError = null;
  let pyodide;
  const stderr = options.stderr && ((line) => { if (!stdlibError) options.stderr(line); });
  try {
    pyodide = await source.loadPyodide({
      ...options.pyodideConfig,
      indexURL: source.indexURL,
      stdLibURL: source.stdLibURL,
      fsInit: async (FS, info) => {
        source.startBundle?.();
        try {
          await installStdlib(FS, source.stdlib);
        } catch (err) {
          const message = String(err.message ?? err);
          stdlibError = new Error(message.startsWith("loadBundle:")
            ? message
            : `loadBundle: the standard library ${MANIFEST.stdlib}: ${message}`);
        }
        if (!stdlibError) await options.fsInit?.(FS, info);
      },
      ...(options.stdout ? { stdout: options.stdout } : {}),
      ...(stderr ? { stderr } : {}),
    });
  } catch (err) {
    throw stdlibError ?? err;
  }
  if (stdlibError) throw stdlibError;
  timings.load_pyodide_ms = performance.now() - t;
  source.startBundle?.(); // (already started, unless a Pyodide skipped fsInit)
  t = performance.now();
  // Extension modules, in the order the traced run loaded them, each as soon as its file is in
  // (the bundle holds them first); asynchronous, so browsers never compile a large module on the
  // main thread.
  let dynlibsMs = 0;
  let loaded = 0;
  const loadDynlibs = async (all) => {
    for (; loaded < MANIFEST.dynlibs.length; loaded++) {
      const lib = MANIFEST.dynlibs[loaded];
      if (!all && !pyodide.FS.analyzePath(lib).exists) return;
      const t0 = performance.now();
      progress.phase("dynlibs");
      try {
        await pyodide._api.loadDynlib(lib);
      } catch (err) {
        throw new Error(`loadBundle: the extension module ${lib} could not be loaded: ${err.message ?? err}`);
      }
      dynlibsMs += performance.now() - t0;
      progress.module();
    }
  };
  for (const [i, part] of source.bundle.entries()) {
    progress.phase("download");
    const bytes = await part;
    progress.phase("install");
    // Paths inside bundle.zip are absolute paths of Pyodide's file system, without the leading "/".
    if (!unpackStoredEntries(pyodide.FS, bytes)) {
      if (source.bundle.length > 1) {
        throw new Error(`loadBundle: ${MANIFEST.bundle}: frame ${i + 1} is not a run of stored zip entries`);
      }
      pyodide.unpackArchive(bytes, "zip", { extractDir: "/" });
    }
    await loadDynlibs(false);
  }
  await loadDynlibs(true);
  timings.dynlibs_ms = dynlibsMs;
  timings.fetch_unpack_ms = performance.now() - t - dynlibsMs;
  installLazyFiles(pyodide, MANIFEST.lazy, source, options, await heldLazyFiles(source));
  timings.lazy_files = MANIFEST.lazy.files.length;
  options.timings?.(timings);
  return pyodide;
}
