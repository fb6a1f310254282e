#!/usr/bin/env bash
# Re-vendors d3-hierarchy from npm: `bash update.sh 3.1.3` (an exact version). Copies only the
# minified UMD build and the license into d3-hierarchy/, and updates the version in README.md.
# Then rebuild (`cargo build -p pyodide_pack_report`) and run `cargo test --test suite report_html::`.
set -euo pipefail
version="${1:?usage: update.sh VERSION (an exact d3-hierarchy version, e.g. 3.1.3)}"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "d3-hierarchy@$version" >/dev/null && tar xzf "d3-hierarchy-$version.tgz")
cp "$tmp/package/dist/d3-hierarchy.min.js" "$here/d3-hierarchy/d3-hierarchy.min.js"
cp "$tmp/package/LICENSE" "$here/d3-hierarchy/LICENSE"
sha="$(sha256sum "$tmp/d3-hierarchy-$version.tgz" | cut -d' ' -f1)"
sed -i -E "s/d3-hierarchy@[0-9][^ ]* \(npm tarball sha256 [0-9a-f]+\)/d3-hierarchy@$version (npm tarball sha256 $sha)/" "$here/README.md"
echo "d3-hierarchy $version vendored into $here/d3-hierarchy (tarball sha256 $sha)"
