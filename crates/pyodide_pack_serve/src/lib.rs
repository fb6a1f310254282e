//! `pyodide-pack serve`: an output folder served on localhost the way a CDN serves it, to look at
//! the page before deploying it. Brotli or gzip when the request asks for it, a `.br` / `.gz`
//! sibling as it is when there is one (the precompressed transfer form), `application/wasm` for
//! `.wasm`, and the headers of the folder's `_headers` file, as Netlify and Cloudflare Pages send
//! them. What no rule caches is sent `Cache-Control: no-cache`: revalidated on every load
//! (`ETag`, from the file's size and modification time to the nanosecond, makes that a 304), so
//! a page reloaded after `pack` gets the new files, even one written within the same second.
//!
//! The HTTP is axum's and tower-http's (`ServeDir`, `CompressionLayer`); this crate only binds,
//! configures and stops them, and reads `_headers`.
#![warn(unreachable_pub)]

mod headers;
mod validators;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::Notify;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

use headers::{HeaderRules, HEADERS_FILE};

/// What can stop a preview server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{}: no such folder (pack writes dist/ by default; serve OUTDIR)", .0.display())]
    NoFolder(PathBuf),
    #[error("cannot serve on {addr}: the port is taken (another server is running there; pick another with --port, or leave --port out for a free one)")]
    PortTaken { addr: String },
    #[error("cannot serve on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the preview server stopped: {0}")]
    Run(std::io::Error),
    #[error("--header {0:?}: not a header (write it as \"Name: value\", e.g. \"Content-Security-Policy: default-src 'self'\")")]
    BadHeader(String),
    /// The folder's `_headers` file is not one a host would take: `file:line: problem`.
    #[error("{}:{line}: {problem}", .file.display())]
    BadHeadersFile {
        file: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("cannot read {}: {source}", .file.display())]
    ReadHeadersFile {
        file: PathBuf,
        source: std::io::Error,
    },
}

/// A folder bound to an address, not yet serving: the URL can be printed before `run` blocks.
pub struct Preview {
    dir: PathBuf,
    listener: TcpListener,
    addr: SocketAddr,
    /// The folder's `_headers` file, read at `bind` as a host reads it at deploy time.
    rules: HeaderRules,
    /// Sent with every response (`--header`), as a deployment would send them: a
    /// Content-Security-Policy to try the page under, say.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Preview {
    /// Binds `host:port` (port 0: a free one) for `dir`, and reads `dir/_headers` if there is
    /// one (before binding, so that a bad file leaves the port free).
    pub fn bind(dir: &Path, host: &str, port: u16) -> Result<Preview, ServeError> {
        if !dir.is_dir() {
            return Err(ServeError::NoFolder(dir.to_path_buf()));
        }
        let rules = read_rules(dir)?;
        let addr = format_addr(host, port);
        let listener = TcpListener::bind(&addr).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                ServeError::PortTaken { addr: addr.clone() }
            } else {
                ServeError::Bind {
                    addr: addr.clone(),
                    source,
                }
            }
        })?;
        let addr = listener.local_addr().map_err(ServeError::Run)?;
        listener.set_nonblocking(true).map_err(ServeError::Run)?;
        Ok(Preview {
            dir: dir.to_path_buf(),
            listener,
            addr,
            rules,
            headers: Vec::new(),
        })
    }

    /// Adds a header to every response, from `Name: value`.
    pub fn header(mut self, line: &str) -> Result<Preview, ServeError> {
        let bad = || ServeError::BadHeader(line.to_string());
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// The folder's URL: `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Serves until `stop()` is called (the CLI calls it on Ctrl-C), then lets the requests in
    /// flight finish and returns.
    pub fn run(self) -> Result<(), ServeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Run)?;
        runtime.block_on(async move {
            let listener =
                tokio::net::TcpListener::from_std(self.listener).map_err(ServeError::Run)?;
            let headers = SiteHeaders {
                rules: self.rules,
                every_response: self.headers,
            };
            axum::serve(listener, router(&self.dir, headers))
                .with_graceful_shutdown(stopped())
                .await
                .map_err(ServeError::Run)
        })
    }
}

/// The rules of `dir/_headers`, none if there is no such file.
fn read_rules(dir: &Path) -> Result<HeaderRules, ServeError> {
    let file = dir.join(HEADERS_FILE);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(HeaderRules::default())
        }
        Err(source) => return Err(ServeError::ReadHeadersFile { file, source }),
    };
    HeaderRules::parse(&bytes).map_err(|error| ServeError::BadHeadersFile {
        file,
        line: error.line,
        problem: error.problem,
    })
}

/// `host:port`, with an IPv6 host in brackets.
fn format_addr(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// What the server adds to the files' responses.
struct SiteHeaders {
    /// From `_headers`: by the request's path.
    rules: HeaderRules,
    /// From `--header`: on every response.
    every_response: Vec<(HeaderName, HeaderValue)>,
}

/// The service: files of `dir`, compressed as a CDN would, with the site's headers.
fn router(dir: &Path, headers: SiteHeaders) -> Router {
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(true);
    // Compressing what is compressed already (the zstd and gzip transfer forms) costs time and
    // gains nothing; a stored zip or wasm gains.
    let worth_compressing = SizeAbove::new(256)
        .and(NotForContentType::new("application/zstd"))
        .and(NotForContentType::new("application/gzip"))
        .and(NotForContentType::IMAGES);
    let headers = Arc::new(headers);
    let served = Arc::new(dir.to_path_buf());
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            validators::file_validators(served.clone(), request, next)
        }))
        .layer(middleware::from_fn(compressed_types))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            site_headers(headers.clone(), request, next)
        }))
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .compress_when(worth_compressing),
        )
}

/// `_headers` answered 404, as the hosts that read it answer it; then the headers of the rules
/// that match the path, in place of the file server's own (a host's rules override its defaults);
/// then `--header`'s; then `Cache-Control: no-cache` if none of them set one.
async fn site_headers(site: Arc<SiteHeaders>, request: Request, next: Next) -> Response {
    let path = headers::decode_path(request.uri().path());
    let mut response = if headers::names_headers_file(&path) {
        StatusCode::NOT_FOUND.into_response()
    } else {
        next.run(request).await
    };
    // The rules are for files: a missing file's 404 under `/immutable/*` cached for a year would
    // outlive the file that is packed there next.
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        for (name, value) in site.rules.headers_for(&path) {
            response.headers_mut().insert(name, value);
        }
    }
    // Appended: two Content-Security-Policy headers both apply.
    for (name, value) in &site.every_response {
        response.headers_mut().append(name.clone(), value.clone());
    }
    // Revalidated every time rather than not stored: a reload after `pack` gets the new files,
    // and the unchanged ones come back as a 304 (`validators`).
    if !response.headers().contains_key(CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// The transfer forms' streams by their type (the type table behind `ServeDir` calls `.zst`
/// `application/octet-stream`), so that they are not compressed again.
async fn compressed_types(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let kind = if path.ends_with(".zst") {
        Some("application/zstd")
    } else if path.ends_with(".gz") {
        Some("application/gzip")
    } else {
        None
    };
    let mut response = next.run(request).await;
    if let Some(kind) = kind {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    }
    response
}

static STOPPED: AtomicBool = AtomicBool::new(false);
static STOP: Notify = Notify::const_new();

/// Stops every preview server of this process (from a signal handler's thread: it only sets a
/// flag and wakes the server).
pub fn stop() {
    STOPPED.store(true, Ordering::SeqCst);
    STOP.notify_waiters();
}

async fn stopped() {
    loop {
        // Registered before the flag is read, so a stop() between the two is not missed.
        let notified = STOP.notified();
        if STOPPED.load(Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `dir` on a free port from a thread of its own and returns its URL. The server is
    /// left running until the test binary exits: `stop()` would stop every server of the process,
    /// those of the tests running beside this one too.
    fn serve(dir: &Path, headers: &[&str]) -> String {
        let mut preview = Preview::bind(dir, "127.0.0.1", 0).unwrap();
        for header in headers {
            preview = preview.header(header).unwrap();
        }
        let url = preview.url();
        std::thread::spawn(move || preview.run().unwrap());
        url
    }

    /// An agent that returns every status as it is, redirects and errors included.
    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    }

    /// The status and the values of `name`, one per header line.
    fn get(url: &str, path: &str, name: &str) -> (u16, Vec<String>) {
        let response = agent().get(format!("{url}{path}")).call().unwrap();
        let values = response
            .headers()
            .get_all(name)
            .iter()
            .map(|value| value.to_str().unwrap().to_string())
            .collect();
        (response.status().as_u16(), values)
    }

    /// A packed folder as `pack` will write it, with a `_headers` that caches `immutable/` for
    /// ever and a few rules to match.
    fn site() -> tempfile::TempDir {
        let site = tempfile::tempdir().unwrap();
        let dir = site.path();
        std::fs::create_dir_all(dir.join("immutable")).unwrap();
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><p>page</p>").unwrap();
        std::fs::write(dir.join("sub/index.html"), "<!doctype html><p>sub</p>").unwrap();
        std::fs::write(dir.join("app.py"), "print('hi')\n").unwrap();
        std::fs::write(dir.join("immutable/bundle-0a1b2c.zip.zst"), b"zstd").unwrap();
        std::fs::write(dir.join("with space.txt"), "spaced").unwrap();
        std::fs::write(
            dir.join(HEADERS_FILE),
            "# as pack writes it\n\
             /immutable/*\n\
             \x20 Cache-Control: public, max-age=31536000, immutable\n\
             /*\n\
             \x20 X-Content-Type-Options: nosniff\n\
             /\n\
             \x20 X-Page: root\n\
             /index.html\n\
             \x20 X-Page: index\n\
             /sub/index.html\n\
             \x20 X-Frame-Options: DENY\n\
             /*.py\n\
             \x20 Content-Type: text/x-python\n\
             /with space.txt\n\
             \x20 X-Spaced: yes\n",
        )
        .unwrap();
        site
    }

    #[test]
    fn serve_sends_the_headers_of_the_rules_that_match_and_no_cache_otherwise() {
        let site = site();
        let url = serve(
            site.path(),
            &["Content-Security-Policy: default-src 'self'"],
        );

        let immutable = "immutable/bundle-0a1b2c.zip.zst";
        assert_eq!(
            get(&url, immutable, "cache-control"),
            (200, vec!["public, max-age=31536000, immutable".into()])
        );
        assert_eq!(
            get(&url, immutable, "x-content-type-options").1,
            ["nosniff"]
        );

        // The page, at the folder's URL and by its name: revalidated; `/` takes the rules of `/`
        // and of `/index.html`, joined.
        assert_eq!(
            get(&url, "", "cache-control"),
            (200, vec!["no-cache".into()])
        );
        assert_eq!(get(&url, "", "x-page").1, ["root, index"]);
        assert_eq!(get(&url, "index.html", "x-page").1, ["index"]);
        assert_eq!(get(&url, "sub/", "x-frame-options").1, ["DENY"]);
        assert!(get(&url, "sub/", "x-page").1.is_empty());

        // A rule's header replaces the file server's.
        assert_eq!(get(&url, "app.py", "content-type").1, ["text/x-python"]);
        // The path is matched decoded.
        assert_eq!(get(&url, "with%20space.txt", "x-spaced").1, ["yes"]);

        // --header: on every response, a 404 too.
        for path in ["", immutable, "missing.txt"] {
            assert_eq!(
                get(&url, path, "content-security-policy").1,
                ["default-src 'self'"],
                "{path}"
            );
        }
        // A missing file is not cached, whatever the rules for its path say.
        let missing = "immutable/bundle-ffffff.zip.zst";
        assert_eq!(
            get(&url, missing, "cache-control"),
            (404, vec!["no-cache".into()])
        );
        assert!(get(&url, missing, "x-content-type-options").1.is_empty());
    }

    #[test]
    fn serve_does_not_serve_the_headers_file() {
        let site = site();
        let url = serve(site.path(), &[]);
        for path in [
            "_headers",
            "%5Fheaders",
            "/_headers",
            "./_headers",
            "_headers/",
        ] {
            assert_eq!(
                get(&url, path, "cache-control"),
                (404, vec!["no-cache".into()]),
                "{path}"
            );
        }
    }

    /// A file rewritten within the second its last copy was fetched in: `Last-Modified` is the
    /// same, the `ETag` is not, and the browser's revalidation (both validators) gets the new
    /// file; the unchanged one still gets a 304, a folder's index page too.
    #[test]
    fn serve_answers_a_file_rewritten_within_the_same_second_with_the_new_file() {
        let site = site();
        let url = serve(site.path(), &[]);
        let page = site.path().join("index.html");
        let second = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let set_modified = |at: std::time::SystemTime| {
            std::fs::File::options()
                .write(true)
                .open(&page)
                .unwrap()
                .set_modified(at)
                .unwrap()
        };
        set_modified(second + std::time::Duration::from_millis(100));
        let fetch = |tag: Option<&str>, since: Option<&str>| {
            let mut request = agent().get(url.clone());
            if let Some(tag) = tag {
                request = request.header("If-None-Match", tag);
            }
            if let Some(since) = since {
                request = request.header("If-Modified-Since", since);
            }
            let mut response = request.call().unwrap();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_string())
            };
            let (tag, modified) = (header("etag"), header("last-modified"));
            let body = response.body_mut().read_to_string().unwrap_or_default();
            (response.status().as_u16(), tag, modified, body)
        };
        let (status, tag, modified, body) = fetch(None, None);
        assert_eq!((status, body.as_str()), (200, "<!doctype html><p>page</p>"));
        let (tag, modified) = (tag.unwrap(), modified.unwrap());
        // Unchanged: a 304, by either validator.
        assert_eq!(fetch(Some(&tag), Some(&modified)).0, 304);
        assert_eq!(fetch(None, Some(&modified)).0, 304);
        // Rewritten, same size, 0.7 s later in the same second.
        std::fs::write(&page, "<!doctype html><p>next</p>").unwrap();
        set_modified(second + std::time::Duration::from_millis(800));
        let (status, new_tag, new_modified, body) = fetch(Some(&tag), Some(&modified));
        assert_eq!((status, body.as_str()), (200, "<!doctype html><p>next</p>"));
        assert_eq!(
            new_modified.as_deref(),
            Some(modified.as_str()),
            "the same second"
        );
        assert_ne!(new_tag.as_deref(), Some(tag.as_str()));
        assert_eq!(fetch(new_tag.as_deref(), Some(&modified)).0, 304);
    }

    #[test]
    fn serve_answers_a_revalidation_of_an_unchanged_file_with_304() {
        let site = site();
        let url = serve(site.path(), &[]);
        let (status, modified) = get(&url, "app.py", "last-modified");
        assert_eq!((status, modified.len()), (200, 1));
        let (_, tag) = get(&url, "app.py", "etag");
        assert!(tag.len() == 1 && tag[0].starts_with("W/\""), "{tag:?}");

        let revalidate = |since: &str| {
            let response = agent()
                .get(format!("{url}app.py"))
                .header("If-Modified-Since", since)
                .call()
                .unwrap();
            let cache = response.headers().get("cache-control").cloned();
            (response.status().as_u16(), cache)
        };
        assert_eq!(
            revalidate(&modified[0]),
            (304, Some(HeaderValue::from_static("no-cache")))
        );
        assert_eq!(revalidate("Fri, 09 Aug 1996 14:21:40 GMT").0, 200);
        // The rules apply to a 304 as to the 200 it stands for.
        let (status, modified) = get(&url, "immutable/bundle-0a1b2c.zip.zst", "last-modified");
        assert_eq!(status, 200);
        let response = agent()
            .get(format!("{url}immutable/bundle-0a1b2c.zip.zst"))
            .header("If-Modified-Since", &modified[0])
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 304);
        assert_eq!(
            response.headers().get("cache-control").unwrap(),
            "public, max-age=31536000, immutable"
        );
    }

    #[test]
    fn serve_without_a_headers_file_sends_no_cache() {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("index.html"), "<p>page</p>").unwrap();
        let url = serve(site.path(), &["Cache-Control: max-age=5"]);
        // (--header's Cache-Control is the only one.)
        assert_eq!(
            get(&url, "", "cache-control"),
            (200, vec!["max-age=5".into()])
        );
        let url = serve(site.path(), &[]);
        assert_eq!(
            get(&url, "", "cache-control"),
            (200, vec!["no-cache".into()])
        );
    }

    #[test]
    fn a_bad_headers_file_is_refused_at_bind_naming_its_line() {
        let site = tempfile::tempdir().unwrap();
        let file = site.path().join(HEADERS_FILE);
        std::fs::write(&file, "# cache\n\n  Cache-Control: no-cache\n").unwrap();
        let Err(error) = Preview::bind(site.path(), "127.0.0.1", 0) else {
            panic!("a bad _headers was taken");
        };
        assert_eq!(
            error.to_string(),
            format!(
                "{}:3: \"Cache-Control\" outside a rule (a rule starts with a path such as /immutable/*)",
                file.display()
            )
        );
        std::fs::write(&file, b"/x\n  X-A: \xfe\n").unwrap();
        let Err(error) = Preview::bind(site.path(), "127.0.0.1", 0) else {
            panic!("a _headers that is not UTF-8 was taken");
        };
        assert_eq!(
            error.to_string(),
            format!("{}:2: not UTF-8 text", file.display())
        );
    }
}
