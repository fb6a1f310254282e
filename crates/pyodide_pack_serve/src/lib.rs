//! `pyodide-pack serve`: an output folder served on localhost the way a CDN serves it, to look at
//! the page before deploying it. Brotli or gzip when the request asks for it, a `.br` / `.gz`
//! sibling as it is when there is one (the precompressed transfer form), `application/wasm` for
//! `.wasm`, and nothing cached, so a page reloaded after `pack` gets the new files.
//!
//! The HTTP is axum's and tower-http's (`ServeDir`, `CompressionLayer`); this crate only binds,
//! configures and stops them.
#![warn(unreachable_pub)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::sync::Notify;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

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
}

/// A folder bound to an address, not yet serving: the URL can be printed before `run` blocks.
pub struct Preview {
    dir: PathBuf,
    listener: TcpListener,
    addr: SocketAddr,
    /// Sent with every response (`--header`), as a deployment would send them: a
    /// Content-Security-Policy to try the page under, say.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Preview {
    /// Binds `host:port` (port 0: a free one) for `dir`.
    pub fn bind(dir: &Path, host: &str, port: u16) -> Result<Preview, ServeError> {
        if !dir.is_dir() {
            return Err(ServeError::NoFolder(dir.to_path_buf()));
        }
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
            axum::serve(listener, router(&self.dir, self.headers))
                .with_graceful_shutdown(stopped())
                .await
                .map_err(ServeError::Run)
        })
    }
}

/// `host:port`, with an IPv6 host in brackets.
fn format_addr(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The service: files of `dir`, compressed as a CDN would, never cached.
fn router(dir: &Path, headers: Vec<(HeaderName, HeaderValue)>) -> Router {
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
    let headers = std::sync::Arc::new(headers);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(compressed_types))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let headers = headers.clone();
            async move {
                let mut response = next.run(request).await;
                // (Appended: two Content-Security-Policy headers both apply.)
                for (name, value) in headers.iter() {
                    response.headers_mut().append(name.clone(), value.clone());
                }
                response
            }
        }))
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .compress_when(worth_compressing),
        )
        .layer(SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
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
