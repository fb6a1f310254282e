//! The lazy tier: files listed in Pyodide's file system, fetched and checked on first read.
// The lazy tier: files listed in Pyodide's file system from the start (directories list them,
// os.stat gives their real size, import and open find them), their bytes fetched on first open or
// read. Emscripten's one public lazy-file API, FS.createLazyFile, cannot be used: it refuses
// synchronous binary requests on a page's main thread. So this relies on MEMFS internals, all of
// them here: a node's `contents`, its `usedBytes` (what MEMFS's getattr reports as the size) and
// its own copy of `stream_ops`.
// `held`: files already in hand (url -> checked bytes: an offline app's, from its service worker).
function installLazyFiles(pyodide, lazy, source, options, held = new Map()) {
  const FS = pyodide.FS;
  const report = options.onLazyFetch ?? (() => {});
  const complain = options.stderr ?? ((line) => console.warn(line));
  const pending = [];
  for (const [path, size, sha256] of lazy.files) {
    const slash = path.lastIndexOf("/");
    const dir = path.slice(0, slash) || "/";
    FS.mkdirTree(dir);
    const node = FS.createFile(dir, path.slice(slash + 1), {}, true, false);
    const url = source.lazyURL(path, sha256);
    let bytes = held.get(url) ?? null;
    if (bytes) node.contents = bytes;
    const fill = (data, ms, preload) => {
      if (bytes !== null) return;
      bytes = data;
      node.contents = data;
      report({ path, bytes: data.length, ms, preload });
      source.fetched?.(url, data);
    };
    // The bytes packed, or an error that says what came instead (a stale file after a
    // redeploy, a file of another pack, a truncated response).
    const check = (data) => {
      const received = source.sha256Sync ? source.sha256Sync(data) : sha256;
      if (data.length !== size || received !== sha256) {
        throw new Error(`not the file packed: received ${data.length} bytes, ${received}; packed: ${size} bytes, ${sha256}`);
      }
      return data;
    };
    // (A browser's response may be a cache's: one more fetch, past every cache, before failing.)
    const fetched = (data) => {
      try {
        return check(data);
      } catch (err) {
        if (!source.retryURL) throw err;
        return check(source.fetchSync(source.retryURL(url)));
      }
    };
    const load = () => {
      if (bytes !== null) return;
      const t = performance.now();
      let data;
      try {
        data = fetched(source.fetchSync(url));
      } catch (err) {
        complain(`loadBundle: lazy file ${path} from ${url}: ${err.message ?? err}`);
        throw new FS.ErrnoError(EIO);
      }
      fill(data, performance.now() - t, false);
    };
    Object.defineProperty(node, "usedBytes", {
      get: () => (bytes === null ? size : bytes.length),
      set: () => {},
      configurable: true,
    });
    const ops = node.stream_ops;
    node.stream_ops = {
      ...ops,
      // Fetching at open time lets a failure name the file (os.open raises with the path).
      open: (stream) => { load(); ops.open?.(stream); },
      read: (stream, ...rest) => { load(); return ops.read(stream, ...rest); },
      mmap: (stream, ...rest) => { load(); return ops.mmap(stream, ...rest); },
    };
    pending.push(() => {
      if (bytes !== null) return Promise.resolve();
      const t = performance.now();
      return source.fetchAsync(url).then((data) => {
        try {
          return check(data);
        } catch (err) {
          if (!source.retryURL) throw err;
          return source.fetchAsync(source.retryURL(url), { cache: "no-store" }).then(check);
        }
      }).then((data) => fill(data, performance.now() - t, true));
    });
  }
  // Lazy stdlib modules live in a folder after the zip on sys.path; the zipped packages that have
  // lazy modules get that folder on their __path__, now or when first imported.
  pyodide.runPython(`
import importlib, importlib.machinery, sys
def _pp_lazy_stdlib(root, packages):
    if root not in sys.path:
        zipped = [i for i, p in enumerate(sys.path) if p.endswith(".zip")]
        sys.path.insert(zipped[0] + 1 if zipped else len(sys.path), root)
    folder = lambda name: root + "/" + name.replace(".", "/")
    class LazyStdlibPath:
        def find_spec(self, name, path=None, target=None):
            if name not in packages:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is not None and spec.submodule_search_locations is not None:
                spec.submodule_search_locations.append(folder(name))
            return spec
    for name in packages:
        if name in sys.modules:
            sys.modules[name].__path__.append(folder(name))
    if packages:
        sys.meta_path.insert(0, LazyStdlibPath())
    # The folders' listings may be cached from before the files existed. (Not
    # importlib.invalidate_caches(): it imports importlib.metadata.)
    for finder in list(sys.path_importer_cache.values()):
        if hasattr(finder, "invalidate_caches"):
            finder.invalidate_caches()
_pp_lazy_stdlib(${JSON.stringify(lazy.stdlib_dir)}, set(${JSON.stringify(lazy.stdlib_packages)}))
del _pp_lazy_stdlib
`);
  if (options.lazyFetch === "preload") {
    Promise.all(pending.map((start) => start().catch(() => {}))).then(() => options.onLazyPreloaded?.());
  }
}

