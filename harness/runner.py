# The Python side of the harness (run_app.mjs and run_bundle.mjs): runs the app as __main__, then
# an optional input file in the app's globals, and reports what happened as JSON. An audit hook
# records every import (found or not, in order); an exception is reported as a traceback without
# this runner's own frames.


def _pp_run(entry, extra):
    import json, os, runpy, sys, traceback

    imports = []

    def hook(event, args):
        if event == "import":
            imports.append(args[0])

    sys.addaudithook(hook)
    sys.path.insert(0, os.path.dirname(entry))
    os.chdir(os.path.dirname(entry))
    error = None
    try:
        g = runpy.run_path(entry, run_name="__main__")
        if extra is not None:
            with open(extra, encoding="utf-8") as f:
                code = compile(f.read(), extra, "exec")
            exec(code, g)
    except SystemExit as e:
        if e.code not in (None, 0):
            error = {"kind": "exit", "message": f"the app called sys.exit({e.code!r})"}
    except BaseException as e:
        # Leading frames of this runner and runpy are noise; with no app frame at all the
        # failure is the runner's own, so every frame stays.
        frames = traceback.extract_tb(e.__traceback__)
        ours = lambda f: f.filename in ("<exec>", "<string>") or f.filename.startswith("<frozen runpy")
        first = next((i for i, f in enumerate(frames) if not ours(f)), 0)
        lines = ["Traceback (most recent call last):\n"]
        lines += traceback.format_list(frames[first:])
        lines += traceback.format_exception_only(e)
        error = {"kind": "python", "message": "".join(lines).rstrip()}
    sys.stdout.flush()
    sys.stderr.flush()

    def origin(m):
        spec = getattr(m, "__spec__", None)
        return spec.origin if spec is not None else getattr(m, "__file__", None)

    seen = set()
    ordered = [n for n in imports if not (n in seen or seen.add(n))]
    return json.dumps({
        "error": error,
        "imports": [[n, n in sys.modules] for n in ordered],
        "modules": [[n, origin(m)] for n, m in list(sys.modules.items())],
    })


_pp_run
