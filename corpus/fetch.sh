#!/usr/bin/env bash
# Fetches everything the corpus and the tests need into the pyodide-pack cache:
#   - the Pyodide runtimes of runtimes.txt  -> $CACHE/runtime/<version>/node_modules/pyodide
#   - each corpus app's wheels, via pip      -> $CACHE/corpus/<app>/wheels/
#   - a full Pyodide 0.27.7 distribution (fetch_distribution.py) -> $CACHE/distributions/pyodide-0.27.7
#   - PyScript (@pyscript/core) for the sample pages        -> $CACHE/pyscript/<version>/
#     and each page's links.txt as links beside it (pages/*/pyscript, pages/*/pyodide; not committed)
# Nothing fetched is committed. Safe to run again: what is already there is kept.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${PYODIDE_PACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyodide-pack}"
python="${PYODIDE_PACK_PYTHON:-python3}"

# An npm package installed into a staging folder and renamed into place as PARENT/NAME.
npm_into() {
  local parent="$1" name="$2" package="$3"
  local staging="$parent/.$name.$$.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  npm install --no-audit --no-fund --no-save --prefix "$staging" "$package" >/dev/null
  rm -rf "${parent:?}/$name"
  mv "$staging" "$parent/$name"
}

# Each runtime once.
grep -v '^#' "$here/runtimes.txt" | while read -r version; do
  [ -n "$version" ] || continue
  if [ ! -f "$cache/runtime/$version/node_modules/pyodide/pyodide-lock.json" ]; then
    echo "fetch: Pyodide $version from npm"
    npm_into "$cache/runtime" "$version" "pyodide@$version"
  fi
done

for app in "$here"/*/; do
  name="$(basename "$app")"
  dest="$cache/corpus/$name/wheels"
  mkdir -p "$dest"
  [ -f "$app/requirements.txt" ] || continue
  if [ -f "$dest/.complete" ] && cmp -s "$app/requirements.txt" "$dest/.complete"; then
    continue
  fi
  echo "fetch: wheels for $name"
  rm -f "$dest"/*.whl "$dest/.complete"
  "$python" -m pip download --disable-pip-version-check --quiet \
    --only-binary=:all: --platform pyemscripten_2026_0_wasm32 --python-version 3.14 \
    --implementation cp --abi cp314 -d "$dest" -r "$app/requirements.txt"
  cp "$app/requirements.txt" "$dest/.complete"
done
"$python" "$here/fetch_distribution.py" "$cache"

# The sample pages (pages/*/) name what they self-host in links.txt, one "NAME WHAT" a line:
# `pyscript VERSION` (@pyscript/core's dist/ from npm), `pyodide runtime-VERSION` (an npm core of
# runtimes.txt) or `pyodide distribution-0.27.7` (the full release above).
for links in "$here"/pages/*/links.txt; do
  [ -f "$links" ] || continue
  page_dir="$(dirname "$links")"
  while read -r name what; do
    [ -n "$name" ] || continue
    case "$what" in
      runtime-*) target="$cache/runtime/${what#runtime-}/node_modules/pyodide" ;;
      distribution-*) target="$cache/distributions/pyodide-${what#distribution-}" ;;
      *)
        target="$cache/pyscript/$what/node_modules/@pyscript/core/dist"
        if [ ! -f "$target/core.js" ]; then
          echo "fetch: @pyscript/core $what from npm"
          mkdir -p "$cache/pyscript"
          npm_into "$cache/pyscript" "$what" "@pyscript/core@$what"
        fi
        ;;
    esac
    ln -sfn "$target" "$page_dir/$name"
  done < "$links"
done
echo "fetch: done ($cache)"
