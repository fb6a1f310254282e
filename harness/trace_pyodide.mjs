// The instrumented interpreter a page is traced with (run_page.mjs serves it in place of the
// page's pyodide.mjs): the real Pyodide, served from the runtime folder under
// __pyodide_pack_real__/ beside this file (and trace_hooks.mjs under __pyodide_pack_harness__/),
// with what a traced run records: files opened for reading, dynamic libraries in load
// order, every import (an audit hook installed before the page's Python runs), the packages the
// host loaded, and `sys.modules` with origins at the end. The host sees Pyodide's own exports.
//
// run_page.mjs asks for the record with `globalThis.__pyodidePackTrace.collect()`.
import * as real from "./__pyodide_pack_real__/pyodide.mjs";
import { recordDynlibs, recordOpens } from "./__pyodide_pack_harness__/trace_hooks.mjs";

export const version = real.version;

const record = { opened: [], dynlibs: [], packages: [], imports: [], modules: [], loaded: false };
let pyodide = null;
globalThis.__pyodidePackTrace = {
  record,
  // The page's interpreter, for an input script run after the page is done.
  get pyodide() { return pyodide; },
  // Imports and modules come from Python, asked once the page is done.
  collect() {
    if (pyodide) {
      const result = pyodide.runPython("__import__('_pyodide_pack_trace').collect()");
      [record.imports, record.modules] = result.toJs();
      result.destroy();
      record.packages = Object.keys(pyodide.loadedPackages ?? {});
    }
    record.opened = [...new Set(record.opened)];
    return record;
  },
};

// The audit hook lives in a module of its own, so the page's globals stay the page's.
const HOOK = `
import sys
_imports = []
def _hook(event, args):
    if event == "import":
        _imports.append(args[0])
sys.addaudithook(_hook)
# (Lists, not JSON: importing json here would put it in the trace.)
def collect():
    def origin(m):
        spec = getattr(m, "__spec__", None)
        return spec.origin if spec is not None else getattr(m, "__file__", None)
    seen = set()
    ordered = [n for n in _imports if not (n in seen or seen.add(n))]
    return [
        [[n, n in sys.modules] for n in ordered],
        [[n, origin(m)] for n, m in list(sys.modules.items())],
    ]
`;

export async function loadPyodide(config = {}) {
  const fsInit = config.fsInit;
  const loaded = await real.loadPyodide({
    ...config,
    // (Without one, Pyodide would take the folder of the real module's URL.)
    indexURL: config.indexURL ?? new URL(".", import.meta.url).href,
    fsInit: async (FS, info) => {
      recordOpens(FS, record.opened);
      await fsInit?.(FS, info);
    },
  });
  recordDynlibs(loaded, record.dynlibs);
  // (A JSON string is a Python string literal.)
  const scratch = loaded.toPy({});
  loaded.runPython(`import sys, types
m = types.ModuleType("_pyodide_pack_trace")
exec(${JSON.stringify(HOOK)}, m.__dict__)
sys.modules[m.__name__] = m`, { globals: scratch });
  scratch.destroy();
  pyodide = loaded;
  record.loaded = true;
  return loaded;
}
