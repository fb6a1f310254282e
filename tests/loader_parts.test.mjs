// The loader's parts that need no Pyodide, tested in Node on their own (node --test; run by
// tests/suite/loader_parts.rs): the synchronous SHA-256, names by content, a pinned file's frames
// checked as they arrive (and fetched once more past caches when they do not match or stall), the errors
// that name a file, stored zip entries unpacked into a file system, and the lazy file table on a
// stand-in of Pyodide's file system.
// Each part is evaluated as `pack` assembles it, with a manifest of the test's own.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import vm from "node:vm";

const PARTS = new URL("../harness/loader/", import.meta.url);

// The named parts evaluated in one context with `manifest` as MANIFEST (and `globals` besides);
// returns `names`.
function loadParts(parts, manifest, names, globals = {}) {
  const source = parts.map((p) => fs.readFileSync(new URL(p, PARTS), "utf8")).join("")
    .replace(/^export /m, "");
  const context = vm.createContext({ MANIFEST: manifest, TextDecoder, atob, btoa, performance, ...globals });
  return vm.runInContext(`${source}\n;({ ${names.join(", ")} })`, context);
}

const sha = (bytes) => "sha256-" + crypto.createHash("sha256").update(bytes).digest("base64");
const bytesOf = (text) => new Uint8Array(Buffer.from(text));

test("sha256Sync matches node:crypto at every padding boundary", () => {
  const { sha256Sync } = loadParts(["07-sync.js"], null, ["sha256Sync"]);
  for (const size of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 1000, 100_003]) {
    const bytes = new Uint8Array(crypto.randomBytes(size));
    assert.equal(sha256Sync(bytes), sha(bytes), `${size} bytes`);
  }
});

test("names by content follow pack's rule (crates/pyodide_pack_pack/src/content.rs)", () => {
  const { contentName } = loadParts(["03-transfer.js"], null, ["contentName"]);
  const abc = sha(bytesOf("abc"));
  const cases = [
    ["bundle.zip.zst", "bundle.ba7816bf8f01cfea.zip.zst"],
    ["lib/python3.12/difflib.py", "lib/python3.12/difflib.ba7816bf8f01cfea.py"],
    ["lib/_ssl.cpython-312-wasm32-emscripten.so", "lib/_ssl.ba7816bf8f01cfea.cpython-312-wasm32-emscripten.so"],
    ["share/LICENSE", "share/LICENSE.ba7816bf8f01cfea"],
    ["a/.hidden", "a/.hidden.ba7816bf8f01cfea"],
    ["a/.hidden.txt", "a/.hidden.ba7816bf8f01cfea.txt"],
    ["données/é.py", "données/é.ba7816bf8f01cfea.py"],
    ["a/😀.tar.gz", "a/😀.ba7816bf8f01cfea.tar.gz"],
  ];
  for (const [path, named] of cases) assert.equal(contentName(path, abc), named, path);
});

// A pinned two-frame file: "abcd" then "efg".
function framed() {
  const frames = [[4, 4, sha(bytesOf("abcd"))], [3, 3, sha(bytesOf("efg"))]];
  const manifest = { files: { "bundle.zip.zst": { size: 7, sha256: sha(bytesOf("abcdefg")) } } };
  const parts = loadParts(["03-transfer.js", "07-sync.js"], manifest, ["checkedParts", "sha256Sync"]);
  const digest = async (bytes) => parts.sha256Sync(bytes);
  return { ...parts, frames, digest };
}

async function* chunks(...texts) {
  for (const text of texts) yield bytesOf(text);
}

test("frames are checked and handed on across any chunk boundaries", async () => {
  const { checkedParts, frames, digest } = framed();
  for (const split of [["abcdefg"], ["a", "bcdefg"], ["abc", "de", "fg"], ["abcd", "efg"]]) {
    const got = await Promise.all(checkedParts(chunks(...split), "bundle.zip.zst", "u", frames, digest));
    assert.deepEqual(got.map((b) => Buffer.from(b).toString()), ["abcd", "efg"], split.join("|"));
  }
});

test("a frame that is not the one packed, a short file and a long one are named", async () => {
  const { checkedParts, frames, digest } = framed();
  const [first, second] = checkedParts(chunks("abcdXfg"), "bundle.zip.zst", "https://x/b", frames, digest);
  assert.equal(Buffer.from(await first).toString(), "abcd");
  await assert.rejects(second, /loadBundle: bundle.zip.zst from https:\/\/x\/b is not the file packed: bytes 4-6 \(frame 2 of 2\)/);
  const short = checkedParts(chunks("abcde"), "bundle.zip.zst", "u", frames, digest);
  await assert.rejects(short[1], /was cut short: 5 bytes arrived \(the file packed: 7 bytes/);
  // Bytes past the packed size come after every frame was checked and handed on: what is used
  // is exactly what was packed (the extra bytes are never read).
  const long = checkedParts(chunks("abcdefgh"), "bundle.zip.zst", "u", frames, digest);
  const got = await Promise.all(long);
  assert.deepEqual(got.map((b) => Buffer.from(b).toString()), ["abcd", "efg"]);
});

test("a part that does not match is read again from a second fetch, once", async () => {
  const { checkedParts, frames, digest } = framed();
  // A stale copy whose second frame differs; the second response is the file packed.
  let refetched = 0;
  const again = () => { refetched += 1; return chunks("ab", "cdefg"); };
  const got = await Promise.all(checkedParts(chunks("abcdXfg"), "bundle.zip.zst", "u", frames, digest, again));
  assert.deepEqual(got.map((b) => Buffer.from(b).toString()), ["abcd", "efg"]);
  assert.equal(refetched, 1);
  // A copy cut short, then the whole file.
  const short = await Promise.all(checkedParts(chunks("abcde"), "bundle.zip.zst", "u", frames, digest, () => chunks("abcdefg")));
  assert.deepEqual(short.map((b) => Buffer.from(b).toString()), ["abcd", "efg"]);
  // Wrong twice: the error of today.
  const [, second] = checkedParts(chunks("abcdXfg"), "bundle.zip.zst", "u", frames, digest, () => chunks("abcdYfg"));
  await assert.rejects(second, /is not the file packed: bytes 4-6 \(frame 2 of 2\)/);
});

// A response whose body arrives in these chunks.
function streamed(...chunks) {
  let next = 0;
  return new Response(new ReadableStream({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(chunks[next++]);
      else controller.close();
    },
  }));
}

test("a streamed runtime file that is not the one packed is completed from a second fetch only where it continues what was passed on", async () => {
  const good = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  let second = good;
  let fetched = [];
  const { checkedResponse, sha256Sync } = loadParts(["03-transfer.js", "07-sync.js"], null,
    ["checkedResponse", "sha256Sync"],
    { Response, ReadableStream, AbortController, setTimeout, clearTimeout,
      fetch: async (url, init) => { fetched.push([url, init?.cache]); return new Response(second); } });
  const pinned = { size: good.length, sha256: sha(good) };
  const digest = async (bytes) => sha256Sync(bytes);
  const body = async (response) => Array.from(new Uint8Array(await response.arrayBuffer()));
  const failures = [];
  const run = (...chunks) =>
    checkedResponse(streamed(...chunks), "pyodide.asm.wasm", "https://x/pyodide.asm.wasm", pinned, digest, (err) => failures.push(err));
  // A copy longer than the file packed (its first 8 bytes right): the rest comes from the
  // second response, after exactly the bytes passed on.
  const longer = run(good.slice(0, 4), good.slice(4, 8), new Uint8Array([1, 1, 1, 1]));
  assert.deepEqual(await body(longer), Array.from(good));
  assert.equal(fetched.length, 1);
  assert.match(fetched[0][0], /^https:\/\/x\/pyodide\.asm\.wasm\?pyodide-pack-retry=\d+$/);
  assert.equal(fetched[0][1], "no-store");
  // A stale copy of the right size: completed from the second response.
  const stale = run(good.slice(0, 4), new Uint8Array([9, 9, 9, 9, 9, 9]));
  assert.deepEqual(await body(stale), Array.from(good));
  // A second response that does not begin with what was passed on: the error, nothing more.
  second = new Uint8Array([7, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const mixed = run(good.slice(0, 4), new Uint8Array([9, 9, 9, 9, 9, 9]));
  await assert.rejects(body(mixed), /pyodide.asm.wasm from https:\/\/x\/pyodide.asm.wasm is not the file packed/);
  assert.equal(failures.length, 1);
});

// How long the stall tests wait for a byte: long enough that a loaded machine does not stall a
// response that is all there (the errors below say it as "0.2 s").
const STALL_MS = 200;

// A fetch whose response sends `sent` and then nothing more, never ending (a stalled download);
// aborting its signal fails the read with the signal's reason, as a browser's fetch does.
function stallingFetch(sent, log) {
  return async (url, init) => {
    log.push(url);
    return new Response(new ReadableStream({
      start(controller) {
        controller.enqueue(sent);
        init?.signal?.addEventListener("abort", () => controller.error(init.signal.reason));
      },
    }));
  };
}

test("a download that stalls is fetched once more past caches from the frame it stalled in, then is an error", async () => {
  const frames = [[4, 4, sha(bytesOf("abcd"))], [3, 3, sha(bytesOf("efg"))]];
  const manifest = { files: { "bundle.zip.zst": { size: 7, sha256: sha(bytesOf("abcdefg")) } } };
  const log = [];
  let fetchNow = stallingFetch(bytesOf("abcde"), log);
  const globals = { Response, ReadableStream, AbortController, setTimeout, clearTimeout, fetch: (...a) => fetchNow(...a) };
  const { checkedParts, bodyChunks, sha256Sync } = loadParts(["03-transfer.js", "07-sync.js"], manifest,
    ["checkedParts", "bodyChunks", "sha256Sync"], globals);
  const digest = async (bytes) => sha256Sync(bytes);
  // The first response stalls after "abcde"; the second is whole: the first frame is kept, the
  // second read from it.
  const again = () => { fetchNow = async (url) => (log.push(url), new Response(bytesOf("abcdefg"))); return bodyChunks("u?retry", {}, STALL_MS); };
  const got = await Promise.all(checkedParts(bodyChunks("u", {}, STALL_MS), "bundle.zip.zst", "u", frames, digest, again));
  assert.deepEqual(got.map((b) => Buffer.from(b).toString()), ["abcd", "efg"]);
  assert.deepEqual(log, ["u", "u?retry"]);
  // Both stall: an error naming the file and the time.
  fetchNow = stallingFetch(bytesOf("ab"), log);
  const stalled = checkedParts(bodyChunks("u", {}, STALL_MS), "bundle.zip.zst", "https://x/b", frames, digest,
    () => bodyChunks("u?retry", {}, STALL_MS));
  await assert.rejects(stalled[0], /bundle.zip.zst from https:\/\/x\/b failed after 2 bytes .*: no bytes came for 0.2 s/);
});

test("a streamed runtime file that stalls is completed from a second fetch", async () => {
  const good = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const fetched = [];
  let second = async (url) => (fetched.push(url), new Response(good));
  const { checkedResponse, sha256Sync } = loadParts(["03-transfer.js", "07-sync.js"], null,
    ["checkedResponse", "sha256Sync"],
    { Response, ReadableStream, AbortController, setTimeout, clearTimeout, fetch: (...a) => second(...a) });
  const pinned = { size: good.length, sha256: sha(good) };
  const digest = async (bytes) => sha256Sync(bytes);
  const failures = [];
  const stalling = () => new Response(new ReadableStream({
    start(controller) { controller.enqueue(good.slice(0, 4)); controller.enqueue(good.slice(4, 6)); },
  }));
  const url = "https://x/pyodide.asm.wasm";
  const run = () => checkedResponse(stalling(), "pyodide.asm.wasm", url, pinned, digest, (err) => failures.push(err), STALL_MS);
  const body = async (response) => Array.from(new Uint8Array(await response.arrayBuffer()));
  assert.deepEqual(await body(run()), Array.from(good));
  assert.equal(fetched.length, 1);
  assert.match(fetched[0], /pyodide-pack-retry=/);
  // The second fetch stalls too: an error naming the file.
  second = stallingFetch(good.slice(0, 2), fetched);
  await assert.rejects(body(run()), /pyodide.asm.wasm from https:\/\/x\/pyodide.asm.wasm failed after 6 bytes .*: no bytes came for 0.2 s/);
  assert.equal(failures.length, 1);
});

test("another release's pyodide.mjs is named by its version", () => {
  const manifest = { pyodide_version: "0.27.7" };
  const { notPacked } = loadParts(["03-transfer.js"], manifest, ["notPacked"]);
  const pinned = { size: 10, sha256: "sha256-x" };
  const other = bytesOf('var Q="0.28.3";export{a as loadPyodide}');
  const err = notPacked("pyodide.mjs", "https://cdn/p/pyodide.mjs", other, null, pinned, "https://cdn/p/");
  assert.match(err.message, /packed for Pyodide 0.27.7, but https:\/\/cdn\/p\/ serves Pyodide 0.28.3/);
  const cut = notPacked("pyodide.asm.wasm", "u", new Uint8Array(4), null, pinned, "i");
  assert.match(cut.message, /was cut short: 4 bytes arrived/);
});

// A zip of stored entries, as pack writes the solid forms' bundle (sizes in the local headers).
function storedZip(entries, method = 0) {
  const out = [];
  for (const [name, text] of entries) {
    const nameBytes = Buffer.from(name);
    const data = Buffer.from(text);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(method, 8);
    header.writeUInt32LE(data.length, 18);
    header.writeUInt32LE(data.length, 22);
    header.writeUInt16LE(nameBytes.length, 26);
    out.push(header, nameBytes, data);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  out.push(end);
  return new Uint8Array(Buffer.concat(out));
}

function fakeFS() {
  const files = new Map();
  const dirs = new Set();
  return {
    files, dirs,
    mkdirTree: (path) => dirs.add(path),
    writeFile: (path, bytes) => files.set(path, Buffer.from(bytes).toString()),
  };
}

test("stored entries are written into the file system, and anything else is refused whole", () => {
  const { unpackStoredEntries } = loadParts(["08-install.js"], null, ["unpackStoredEntries"]);
  const FS = fakeFS();
  const zip = storedZip([["lib/pkg/", ""], ["lib/pkg/__init__.py", "x = 1\n"], ["lib/pkg/data.txt", "data"]]);
  assert.equal(unpackStoredEntries(FS, zip), true);
  assert.deepEqual([...FS.files.entries()], [["/lib/pkg/__init__.py", "x = 1\n"], ["/lib/pkg/data.txt", "data"]]);
  assert.ok(FS.dirs.has("/lib/pkg/"));
  for (const refused of [
    storedZip([["a.py", "x"]], 8), // compressed: not this reader's
    storedZip([["../escape.py", "x"]]),
    storedZip([["/abs.py", "x"]]),
  ]) {
    const none = fakeFS();
    assert.equal(unpackStoredEntries(none, refused), false);
    assert.equal(none.files.size, 0);
  }
});

// A file system as much as the lazy tier touches of MEMFS: folders, nodes with stream_ops.
function lazyFS() {
  const nodes = new Map();
  class ErrnoError extends Error {
    constructor(errno) { super(`errno ${errno}`); this.errno = errno; }
  }
  return {
    nodes, ErrnoError,
    mkdirTree: () => {},
    createFile: (dir, name) => {
      const node = {
        contents: null,
        stream_ops: {
          open: () => {},
          read: () => node.contents.length,
          mmap: () => node.contents,
        },
      };
      nodes.set(`${dir}/${name}`, node);
      return node;
    },
  };
}

test("a lazy file is listed with its size, fetched once on first read, and checked", () => {
  const { installLazyFiles, sha256Sync } = loadParts(["01-options.js", "02-lazy.js", "07-sync.js"], null,
    ["installLazyFiles", "sha256Sync"]);
  const good = bytesOf("print('lazy')\n");
  const FS = lazyFS();
  const fetched = [];
  const reported = [];
  const complaints = [];
  const source = {
    lazyURL: (path) => "https://site/lazy" + path,
    fetchSync: (url) => {
      fetched.push(url);
      // (stale.py: a cache's stale copy first, the file packed from the network.)
      if (url.endsWith("stale.py")) return bytesOf("stale");
      return url.includes("bad.py") ? bytesOf("stale") : good;
    },
    fetchAsync: async () => good,
    retryURL: (url) => url + "?again",
    sha256Sync,
  };
  const lazy = {
    files: [
      ["/lib/pkg/mod.py", good.length, sha(good)], ["/lib/pkg/bad.py", good.length, sha(good)],
      ["/lib/pkg/stale.py", good.length, sha(good)],
    ],
    stdlib_dir: "/lib/lazy-stdlib", stdlib_packages: [],
  };
  const pyodide = { FS, runPython: () => {} };
  installLazyFiles(pyodide, lazy, source, {
    onLazyFetch: (event) => reported.push(event.path),
    stderr: (line) => complaints.push(line),
  });
  const node = FS.nodes.get("/lib/pkg/mod.py");
  assert.equal(node.usedBytes, good.length, "the size before any fetch");
  assert.deepEqual(fetched, []);
  node.stream_ops.read({});
  node.stream_ops.read({});
  assert.deepEqual(fetched, ["https://site/lazy/lib/pkg/mod.py"], "fetched once");
  assert.equal(Buffer.from(node.contents).toString(), "print('lazy')\n");
  assert.deepEqual(reported, ["/lib/pkg/mod.py"]);
  // A stale copy: fetched once more past caches, which gives the file packed.
  FS.nodes.get("/lib/pkg/stale.py").stream_ops.open({});
  assert.deepEqual(fetched.slice(1), ["https://site/lazy/lib/pkg/stale.py", "https://site/lazy/lib/pkg/stale.py?again"]);
  assert.equal(Buffer.from(FS.nodes.get("/lib/pkg/stale.py").contents).toString(), "print('lazy')\n");
  // Bytes that are not the file packed, twice: an I/O error for Python, and a line naming the
  // file.
  const bad = FS.nodes.get("/lib/pkg/bad.py");
  assert.throws(() => bad.stream_ops.open({}), (err) => err.errno === 29);
  assert.match(complaints[0], /loadBundle: lazy file \/lib\/pkg\/bad.py from https:\/\/site\/lazy\/lib\/pkg\/bad.py: not the file packed: received 5 bytes/);
});
