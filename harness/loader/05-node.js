//! Node: the runtime's files read and checked from disk before Pyodide starts.
const IS_NODE = typeof process === "object" && !!process.versions?.node && typeof window === "undefined";

// The URL of a file the manifest pins, beside this loader (in Node and in a browser).
const pinnedURL = (name) => new URL(contentName(name, MANIFEST.files[name].sha256), import.meta.url);

async function loadNode(options, progress, checking) {
  const copied = MANIFEST.runtime_dir && new URL(MANIFEST.runtime_dir + "/", import.meta.url);
  if (!options.indexURL && !copied) {
    throw new Error("loadBundle: indexURL (the folder holding pyodide.mjs) is required in Node");
  }
  const { fileURLToPath, pathToFileURL } = await import("node:url");
  const path = await import("node:path");
  const fs = await import("node:fs/promises");
  const { createHash } = await import("node:crypto");
  // Node's fetch has no file: URLs and loadPyodide wants a plain folder path: use paths.
  const asPath = (p) => (p instanceof URL || String(p).startsWith("file:") ? fileURLToPath(p) : String(p));
  let indexURL = asPath(options.indexURL ?? copied);
  if (!indexURL.endsWith(path.sep)) indexURL += path.sep;
  const stdLibURL = asPath(options.stdLibURL ?? pinnedURL(MANIFEST.stdlib));
  const bundlePath = asPath(options.bundleURL ?? pinnedURL(MANIFEST.bundle));
  const lazyDir = asPath(options.lazyURL ?? new URL(MANIFEST.lazy.dir + "/", import.meta.url));
  const { readFileSync, rmSync } = await import("node:fs");
  const sha256Sync = (bytes) => "sha256-" + createHash("sha256").update(bytes).digest("base64");
  // A local file, checked whole (what the CLI and tests run: Pyodide in Node reads the runtime's
  // files itself, by path, so they are checked before it starts; a local disk does not change
  // them in between).
  const checkedFile = async (name, file, pinned) => {
    const bytes = new Uint8Array(await fs.readFile(file).catch((err) => {
      throw new Error(`loadBundle: ${name} from ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    }));
    const received = bytes.length !== pinned.size ? null : checking ? sha256Sync(bytes) : pinned.sha256;
    if (received !== pinned.sha256) {
      throw notPacked(name, file, bytes, received, pinned, indexURL);
    }
    return bytes;
  };
  if (checking) {
    // pyodide.mjs first: another release's says which release it is.
    const { "pyodide.mjs": main, ...rest } = MANIFEST.runtime.files;
    await checkedFile("pyodide.mjs", path.join(indexURL, "pyodide.mjs"), main);
    await Promise.all(Object.entries(rest).map(([name, pinned]) =>
      checkedFile(name, path.join(indexURL, name), pinned)));
  }
  const { loadPyodide, version } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
  const zlib = await import("node:zlib");
  const { promisify } = await import("node:util");
  const gunzip = promisify(zlib.gunzip);
  // A local file is one chunk.
  const readChunks = (start, file) => (async function* () {
    await start;
    const bytes = new Uint8Array(await fs.readFile(file));
    progress.bytes(bytes.length);
    yield bytes;
  })();
  // The decoder from a data: URL of its checked bytes (Node has no blob: modules).
  let decoderModule = null;
  if (MANIFEST.decoder) {
    const file = asPath(pinnedURL(MANIFEST.decoder));
    decoderModule = checkedFile(MANIFEST.decoder, file, MANIFEST.files[MANIFEST.decoder]).then((bytes) =>
      import("data:text/javascript;base64," + Buffer.from(bytes).toString("base64")));
    decoderModule.catch(() => {});
  }
  const decoder = { decode: zstdDecode(decoderModule) };
  const unzip = async (bytes) => new Uint8Array(await gunzip(bytes));
  const eager = (name, file, frames) => eagerParts(Promise.resolve(), name, file, frames, readChunks,
    checking ? async (bytes) => sha256Sync(bytes) : null, decoder, unzip);
  // Pyodide's placeholder stdlib, an empty zip in a file of its own (Pyodide in Node takes only
  // paths and "://" URLs, no blob: URL); the checked one replaces it in fsInit.
  const os = await import("node:os");
  const placeholderDir = await fs.mkdtemp(path.join(os.tmpdir(), "pyodide-pack-"));
  const placeholder = path.join(placeholderDir, "empty.zip");
  await fs.writeFile(placeholder, EMPTY_ZIP);
  return {
    indexURL, stdLibURL: placeholder, loadPyodide, version,
    bundle: eager(MANIFEST.bundle, bundlePath, MANIFEST.bundle_frames),
    stdlib: eager(MANIFEST.stdlib, stdLibURL, null)[0],
    lazyURL: (installPath, sha256) => path.join(lazyDir, contentName(installPath.slice(1), sha256)),
    fetchSync: (file) => new Uint8Array(readFileSync(file)),
    fetchAsync: async (file) => new Uint8Array(await fs.readFile(file)),
    sha256Sync: checking ? sha256Sync : null,
    // (At once: a harness may exit right after loadBundle.)
    close: () => rmSync(placeholderDir, { recursive: true, force: true }),
  };
}

