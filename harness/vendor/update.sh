#!/usr/bin/env bash
# Re-vendors fzstd (the zstd decoder loader.mjs uses for `--transfer zstd`) from npm:
# `bash update.sh 0.1.1` (an exact version). Copies the ES module build and the license into
# fzstd/, and updates the version line in README.md. Then run `cargo test --test suite transfer_forms::`.
set -euo pipefail
version="${1:?usage: update.sh VERSION (an exact fzstd version, e.g. 0.1.1)}"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "fzstd@$version" >/dev/null && tar xzf "fzstd-$version.tgz")
cp "$tmp/package/esm/index.mjs" "$here/fzstd/fzstd.mjs"
cp "$tmp/package/LICENSE" "$here/fzstd/LICENSE"
sha="$(sha256sum "$tmp/fzstd-$version.tgz" | cut -d' ' -f1)"
sed -i -E "s/fzstd@[0-9][^ ]* \(npm tarball sha256 [0-9a-f]+\)/fzstd@$version (npm tarball sha256 $sha)/" "$here/README.md"
echo "fzstd $version vendored into $here/fzstd (tarball sha256 $sha)"
