// The first-output bench's browser side (benches/first_output.rs runs it once per app). It serves
// the Pyodide runtime, each variant's packed output folder, the wheels of the full environment and
// the app the way a CDN does, starts headless Chromium with puppeteer-core, and loads the page
// (page.mjs) once per run, each in a fresh browser context with the HTTP cache disabled and the
// run's profile applied through the DevTools protocol. Variants take turns (run 1 of every
// variant, then run 2, ...), so a slow spell of the machine hits them alike. It records, per run: the
// time from navigation to the app's first output line (page clock), the loader's breakdown, every
// request's bytes on the wire (Network.loadingFinished.encodedDataLength) and when it finished.
//
// Usage: node serve_and_measure.mjs SPEC.json
// SPEC: {
//   variants: [{name, mode: "full" | "bundle", bundle_dir: DIR | null, check_integrity: BOOL}...],
//                                  a bundle's folder is served at /v/NAME/ (two variants may share
//                                  one), its page at /page/NAME; check_integrity false: the page
//                                  calls loadBundle with checkIntegrity: false (default true)
//   runtime: DIR,                  the Pyodide runtime (a full distribution for lock packages),
//                                  served at /runtime/
//   wheels: [PATH...],             the app's wheels, served at /wheels/NAME (mode "full")
//   packages: [NAME...],           lock packages the full environment loads with loadPackage
//                                  (from the runtime folder, a full distribution)
//   app: PATH,                     the entry script, served at /app.py
//   chromium: PATH, driver: DIR,   the browser, and the npm prefix holding puppeteer-core
//   compress_cache: DIR,           compressed bodies kept across runs (by content hash)
//   runs: [[PROFILE, COUNT, [VARIANT...] | null]...],
//                                  PROFILE: "fast" | "cable" | "3g" | "cpu4x"; the variants to
//                                  run on it (null: all)
//   timeout_ms: N,                 per run
//   out: PATH                      the JSON record
// }
//
// Serving, like a CDN: `Content-Encoding: br` (quality 11) or `gzip` (level 9) when the request's
// Accept-Encoding offers it, for every file whose compressed form is smaller (text, wasm, and
// also zip/whl: their entries are already deflated, so this gains little, but a CDN may, and a
// future stored-zip transfer form must be measured compressed); a precompressed `.br` / `.gz`
// sibling is served as it is when present. Compressed bodies are cached in memory per file and
// encoding, and on disk by content hash, and all known files are compressed before the first run,
// so no run waits on the compressor. `.wasm` is `application/wasm`; `Cache-Control: no-store`.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const here = path.dirname(fileURLToPath(import.meta.url));

const PROFILES = {
  fast: {},
  cable: { network: { download: 20e6 / 8, upload: 5e6 / 8, latency: 20 } },
  "3g": { network: { download: 1.6e6 / 8, upload: 0.75e6 / 8, latency: 150 } },
  cpu4x: { cpu: 4 },
};

const MIME = {
  ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
  ".zip": "application/zip", ".whl": "application/zip", ".json": "application/json",
  ".html": "text/html; charset=utf-8", ".py": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8", ".map": "application/json",
};
const TEXT = new Set([".mjs", ".js", ".json", ".html", ".py", ".txt", ".map", ".pyi", ".toml", ".cfg"]);

// URL path -> file.
const wheelFiles = new Map((spec.wheels ?? []).map((w) => [path.basename(w), w]));
function resolveFile(urlPath) {
  if (urlPath === "/app.py") return spec.app;
  const wheel = urlPath.match(/^\/wheels\/([^/]+)$/);
  if (wheel) return wheelFiles.get(wheel[1]) ?? null;
  const roots = [["/runtime/", spec.runtime]];
  for (const v of spec.variants) if (v.bundle_dir) roots.push([`/v/${v.name}/`, v.bundle_dir]);
  for (const [prefix, dir] of roots) {
    if (!urlPath.startsWith(prefix)) continue;
    const root = path.resolve(dir);
    const file = path.resolve(root, "." + path.posix.normalize("/" + urlPath.slice(prefix.length)));
    return file.startsWith(root + path.sep) ? file : null;
  }
  return null;
}

// The body length last served per URL path: the bytes of a response the page reads as a stream
// (the gzip form pipes it through DecompressionStream), for which Chromium's encodedDataLength
// counts only the headers.
const servedBodies = new Map();

// Compression, cached in memory per file + encoding and on disk by content hash.
fs.mkdirSync(spec.compress_cache, { recursive: true });
const memory = new Map();
const compressStats = { files: 0, ms: 0 };

function compressBody(raw, encoding, ext) {
  return new Promise((resolve, reject) => {
    const done = (err, out) => (err ? reject(err) : resolve(out));
    if (encoding === "br") {
      zlib.brotliCompress(raw, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
          [zlib.constants.BROTLI_PARAM_MODE]: TEXT.has(ext)
            ? zlib.constants.BROTLI_MODE_TEXT
            : zlib.constants.BROTLI_MODE_GENERIC,
        },
      }, done);
    } else {
      zlib.gzip(raw, { level: 9 }, done);
    }
  });
}

/// The body to send for `file` in `encoding` ("identity", "br", "gzip"): the bytes, or null when
/// that encoding does not make it smaller (then it is sent as it is).
function encoded(file, encoding) {
  const key = `${file}\0${encoding}`;
  let entry = memory.get(key);
  if (!entry) {
    entry = (async () => {
      if (encoding === "identity") return fs.promises.readFile(file);
      const sibling = file + (encoding === "br" ? ".br" : ".gz");
      if (fs.existsSync(sibling)) return fs.promises.readFile(sibling);
      const raw = await fs.promises.readFile(file);
      const hash = crypto.createHash("sha256").update(raw).digest("hex");
      const cached = path.join(spec.compress_cache, `${hash}.${encoding}`);
      let body;
      try {
        body = await fs.promises.readFile(cached);
      } catch {
        const t = performance.now();
        body = await compressBody(raw, encoding, path.extname(file));
        compressStats.files += 1;
        compressStats.ms += performance.now() - t;
        const partial = `${cached}.${process.pid}.partial`;
        await fs.promises.writeFile(partial, body);
        await fs.promises.rename(partial, cached);
      }
      return body.length < raw.length ? body : null;
    })();
    memory.set(key, entry);
  }
  return entry;
}

function acceptedEncodings(header) {
  const offered = new Set();
  for (const part of String(header ?? "").split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    if (name && !(q && Number(q.slice(2)) === 0)) offered.add(name);
  }
  return ["br", "gzip"].filter((e) => offered.has(e));
}

const seenAcceptEncoding = new Set();
const pages = new Map();

function serve() {
  const base = { "Cache-Control": "no-store" };
  return http.createServer(async (req, res) => {
    try {
      seenAcceptEncoding.add(String(req.headers["accept-encoding"] ?? ""));
      const urlPath = decodeURIComponent(new URL(req.url, "http://x").pathname);
      const page = urlPath.match(/^\/page\/([^/]+)$/);
      if (page && pages.has(page[1])) {
        res.writeHead(200, { ...base, "Content-Type": MIME[".html"] }).end(pages.get(page[1]));
        return;
      }
      const file = resolveFile(urlPath);
      const stat = file ? await fs.promises.stat(file).catch(() => null) : null;
      if (!stat?.isFile()) {
        res.writeHead(404, { ...base, "Content-Type": MIME[".txt"] }).end("not found\n");
        return;
      }
      const headers = {
        ...base,
        "Content-Type": MIME[path.extname(file)] ?? "application/octet-stream",
        Vary: "Accept-Encoding",
      };
      let body = null;
      for (const encoding of acceptedEncodings(req.headers["accept-encoding"])) {
        body = await encoded(file, encoding);
        if (body) {
          headers["Content-Encoding"] = encoding;
          break;
        }
      }
      body ??= await encoded(file, "identity");
      headers["Content-Length"] = body.length;
      servedBodies.set(urlPath, body.length);
      res.writeHead(200, headers).end(body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, base);
      res.end(String(err));
    }
  });
}

/// Every file a run can fetch, compressed before the first run.
function knownFiles() {
  const files = [spec.app, ...(spec.wheels ?? [])];
  for (const name of ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
    "pyodide-lock.json", "python_stdlib.zip"]) {
    const file = path.join(spec.runtime, name);
    if (fs.existsSync(file)) files.push(file);
  }
  // The lazy tier is compressed when first asked for (a traced run fetches none of it).
  for (const v of spec.variants) {
    if (!v.bundle_dir) continue;
    for (const entry of fs.readdirSync(v.bundle_dir, { withFileTypes: true })) {
      const full = path.join(v.bundle_dir, entry.name);
      // (Not the precompressed siblings: they are served as they are.)
      const sibling = /\.(br|gz)$/.test(entry.name) && fs.existsSync(full.replace(/\.(br|gz)$/, ""));
      if (entry.isFile() && !sibling && !entry.name.endsWith(".html") && entry.name !== "report.json") {
        files.push(full);
      }
    }
  }
  // (Once each: variants that share a folder list it twice.)
  return [...new Set(files)];
}

async function precompress() {
  const files = knownFiles();
  // Largest first, two at a time (this machine has two cores).
  files.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
  const queue = files.flatMap((f) => [[f, "br"], [f, "gzip"]]);
  const worker = async () => {
    while (queue.length) {
      const [file, encoding] = queue.shift();
      await encoded(file, encoding);
    }
  };
  await Promise.all([worker(), worker()]);
}

// The runtime's own files; python_stdlib.zip and the lock's packages (a full distribution serves
// them under /runtime/ too) are the app's bytes.
const RUNTIME_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "pyodide-lock.json"];
function isRuntime(urlPath) {
  return RUNTIME_FILES.some((name) => urlPath === "/runtime/" + name);
}

async function measure(browser, origin, variant, profileName) {
  const profile = PROFILES[profileName];
  if (!profile) throw new Error(`unknown profile ${profileName}`);
  const context = await browser.createBrowserContext();
  const result = {
    variant: variant.name, profile: profileName, check_integrity: variant.check_integrity !== false,
    error: null, resources: [],
  };
  try {
    const page = await context.newPage();
    const cdp = await page.createCDPSession();
    const requests = new Map();
    let documentStart = null;
    // The page's requests, and its workers' (the loader fetches and decodes the zstd files in a
    // worker): the same listeners on each session; request ids are unique across them.
    const watch = (session) => {
      session.on("Network.requestWillBeSent", (e) => {
        const url = new URL(e.request.url);
        if (url.origin !== origin) return;
        if (url.pathname.startsWith("/page/") && documentStart === null) documentStart = e.timestamp;
        requests.set(e.requestId, { path: url.pathname, start: e.timestamp, end: null, bytes: 0, encoding: null });
      });
      session.on("Network.responseReceived", (e) => {
        const r = requests.get(e.requestId);
        if (!r) return;
        const headers = Object.fromEntries(Object.entries(e.response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        r.encoding = headers["content-encoding"] ?? "identity";
      });
      session.on("Network.loadingFinished", (e) => {
        const r = requests.get(e.requestId);
        if (!r) return;
        r.end = e.timestamp;
        r.bytes = e.encodedDataLength;
      });
      session.on("Network.loadingFailed", (e) => {
        const r = requests.get(e.requestId);
        if (r) {
          r.end = e.timestamp;
          r.failed = e.errorText;
        }
      });
    };
    watch(cdp);
    page.on("workercreated", (worker) => {
      watch(worker.client);
      worker.client.send("Network.enable").catch(() => {});
    });
    await cdp.send("Network.enable");
    // Through puppeteer: Network.setCacheDisabled, Network.emulateNetworkConditions and
    // Emulation.setCPUThrottlingRate on the page's own session.
    await page.setCacheEnabled(false);
    if (profile.network) await page.emulateNetworkConditions(profile.network);
    if (profile.cpu) await page.emulateCPUThrottling(profile.cpu);

    let resolveDone;
    const done = new Promise((r) => { resolveDone = r; });
    await page.exposeFunction("__ppDone", (record) => resolveDone(record));
    page.on("pageerror", (err) => { result.error ??= `page error: ${err.message ?? err}`; });
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(() => r({ error: `timeout after ${spec.timeout_ms / 1000} s` }), spec.timeout_ms);
    });
    await page.goto(`${origin}/page/${variant.name}`, { waitUntil: "domcontentloaded", timeout: spec.timeout_ms });
    const record = await Promise.race([done, timeout]);
    clearTimeout(timer);
    // Let the last loadingFinished events arrive.
    for (let i = 0; i < 50 && [...requests.values()].some((r) => r.end === null); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    Object.assign(result, {
      stdout: record.stdout ?? "",
      stderr: record.stderr ?? "",
      timings: record.timings ?? {},
    });
    result.error = record.error ?? result.error;
    let total = 0;
    let app = 0;
    for (const r of requests.values()) {
      // A body the page reads as a stream (the gzip form pipes it through DecompressionStream)
      // can come without its loadingFinished, or with only the headers counted: then what the
      // server sent for it counts.
      r.bytes = Math.max(r.bytes, servedBodies.get(r.path) ?? 0);
      total += r.bytes;
      if (!isRuntime(r.path)) app += r.bytes;
      result.resources.push({
        path: r.path,
        bytes: r.bytes,
        encoding: r.encoding,
        start_ms: documentStart === null ? null : (r.start - documentStart) * 1000,
        end_ms: documentStart === null || r.end === null ? null : (r.end - documentStart) * 1000,
        failed: r.failed ?? null,
      });
    }
    result.wire = { total, app, runtime: total - app };
  } catch (err) {
    result.error ??= String(err && err.message ? err.message : err);
  } finally {
    await Promise.race([context.close(), new Promise((r) => setTimeout(r, 5000))]).catch(() => {});
  }
  return result;
}

async function main() {
  const out = { runs: [], accept_encoding: [], compressed: compressStats, error: null };
  const t = performance.now();
  await precompress();
  out.precompress_ms = performance.now() - t;
  const server = serve();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const pageSource = fs.readFileSync(path.join(here, "page.mjs"), "utf8");
  for (const variant of spec.variants) {
    const config = {
      mode: variant.mode,
      indexURL: origin + "/runtime/",
      loader: `${origin}/v/${variant.name}/loader.mjs`,
      checkIntegrity: variant.check_integrity !== false,
      wheels: variant.mode === "full" ? [...wheelFiles.keys()].map((name) => `${origin}/wheels/${name}`) : [],
      packages: variant.mode === "full" ? spec.packages ?? [] : [],
      app: origin + "/app.py",
      filename: "/home/pyodide/app.py",
    };
    const json = JSON.stringify(config).replace(/</g, "\\u003c");
    pages.set(variant.name, `<!doctype html>
<meta charset="utf-8"><link rel="icon" href="data:,"><title>first output: ${variant.name}</title>
<script type="module">
${pageSource.replace(/<\/script/gi, "<\\/script")}
run(${json});
</script>
`);
  }
  const require = createRequire(path.join(spec.driver, "package.json"));
  const puppeteer = require("puppeteer-core");
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath: spec.chromium,
      headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
    // Warm-up, not measured: the first page of a new browser starts its processes.
    const warm = await browser.createBrowserContext();
    const warmPage = await warm.newPage();
    await warmPage.goto(origin + "/runtime/package.json").catch(() => {});
    await warm.close().catch(() => {});
    for (const [profile, count, only] of spec.runs) {
      for (let i = 0; i < count; i++) {
        for (const variant of spec.variants.filter((v) => !only || only.includes(v.name))) {
          const run = await measure(browser, origin, variant, profile);
          run.index = i;
          out.runs.push(run);
          const first = run.timings?.first_output_ms;
          process.stderr.write(
            `  ${spec.label ?? ""} ${profile} #${i + 1} ${variant.name}: first output ` +
            `${first == null ? "-" : (first / 1000).toFixed(2) + " s"}, ${((run.wire?.total ?? 0) / 1e6).toFixed(2)} MB` +
            `${run.error ? ", error: " + run.error.split("\n")[0] : ""}\n`,
          );
        }
      }
    }
  } catch (err) {
    out.error = String(err && err.stack ? err.stack : err);
  } finally {
    await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 5000))]).catch(() => {});
    server.close();
  }
  out.accept_encoding = [...seenAcceptEncoding];
  const partial = `${spec.out}.partial`;
  fs.writeFileSync(partial, JSON.stringify(out));
  fs.renameSync(partial, spec.out);
  process.exit(out.error ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
