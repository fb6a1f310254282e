// What a traced run records on the JavaScript side, in Node (run_app.mjs) and in a page
// (trace_pyodide.mjs, which run_page.mjs serves this file to): the files Python opens for
// reading, and the dynamic libraries in the order they load.

// From `fsInit`, before Python starts: every file opened for reading (directories left out).
export function recordOpens(FS, opened) {
  const open = FS.open;
  FS.open = function (p, flags, ...rest) {
    const stream = open.call(this, p, flags, ...rest);
    const isRead = flags === "r" || (typeof flags === "number" && (flags & 3) === 0);
    if (isRead && stream && stream.node && !FS.isDir(stream.node.mode)) {
      opened.push(stream.path ?? String(p));
    }
    return stream;
  };
}

// Every dynamic library, in load order: the first time its name appears in the loader's table
// (no public API tells; `_module.LDSO` is Emscripten's own table).
export function recordDynlibs(pyodide, dynlibs) {
  const ldso = pyodide._module.LDSO;
  ldso.loadedLibsByName = new Proxy(ldso.loadedLibsByName, {
    set(target, key, value) {
      if (!(key in target)) dynlibs.push(String(key));
      target[key] = value;
      return true;
    },
  });
}
