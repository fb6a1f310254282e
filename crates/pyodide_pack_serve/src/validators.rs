//! An `ETag` for each file, from its size and its modification time to the nanosecond.
//!
//! `ServeDir` sends `Last-Modified` alone, to the second: a file rewritten within the second
//! after a browser fetched it (a warm `pack` of a small app takes a fifth of a second) was
//! answered 304 to the revalidation, and the reload showed the last page. With an `ETag` the
//! browser sends `If-None-Match` too, which takes precedence over `If-Modified-Since` (RFC 9110,
//! 13.2.2): a match is a 304 here, and otherwise `If-Modified-Since` is not passed on.
//! The tag is weak: the bytes sent depend on the encoding the request accepts.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::Request;
use axum::http::header::{HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::headers::decode_path;

/// The middleware around the file server of `dir`.
pub(crate) async fn file_validators(
    dir: Arc<PathBuf>,
    mut request: Request,
    next: Next,
) -> Response {
    let tag = matches!(*request.method(), Method::GET | Method::HEAD)
        .then(|| file_at(&dir, request.uri().path()))
        .flatten()
        .and_then(|file| entity_tag(&file));
    let Some(tag) = tag else {
        return next.run(request).await;
    };
    if let Some(asked) = request.headers().get(IF_NONE_MATCH) {
        if matches_any(asked, &tag) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            response.headers_mut().insert(ETAG, tag);
            return response;
        }
        request.headers_mut().remove(IF_MODIFIED_SINCE);
    }
    let mut response = next.run(request).await;
    if matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
        response.headers_mut().insert(ETAG, tag);
    }
    response
}

/// The file a request's path names under `dir` (a folder's `index.html`, as the file server
/// answers it), or none: a path that climbs out, or names nothing.
fn file_at(dir: &Path, path: &str) -> Option<PathBuf> {
    let decoded = decode_path(path);
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    let file = dir.join(relative);
    if file.is_dir() {
        Some(file.join("index.html"))
    } else {
        Some(file)
    }
}

/// `W/"<size>-<modified, ns since 1970>"` in hex, for a regular file.
fn entity_tag(file: &Path) -> Option<HeaderValue> {
    let meta = std::fs::metadata(file).ok().filter(|m| m.is_file())?;
    let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    HeaderValue::from_str(&format!("W/\"{:x}-{:x}\"", meta.len(), modified.as_nanos())).ok()
}

/// `If-None-Match` against `tag`, by weak comparison (`W/` set aside), `*` matching any.
fn matches_any(asked: &HeaderValue, tag: &HeaderValue) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let ours = tag.to_str().map(opaque).unwrap_or_default();
    asked
        .to_str()
        .map(|list| {
            list.split(',')
                .any(|t| t.trim() == "*" || opaque(t) == ours)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_a_star() {
        let tag = HeaderValue::from_static("W/\"a-1\"");
        for asked in ["W/\"a-1\"", "\"a-1\"", "\"b-2\", W/\"a-1\"", "*"] {
            assert!(
                matches_any(&HeaderValue::from_static(asked), &tag),
                "{asked}"
            );
        }
        for asked in ["W/\"a-2\"", "\"a-10\"", ""] {
            assert!(
                !matches_any(&HeaderValue::from_static(asked), &tag),
                "{asked}"
            );
        }
    }

    #[test]
    fn a_path_that_climbs_out_names_no_file() {
        let dir = Path::new("/srv/site");
        assert_eq!(file_at(dir, "/a/b.txt"), Some(dir.join("a/b.txt")));
        assert_eq!(file_at(dir, "/./a.txt"), Some(dir.join("a.txt")));
        for path in ["/../etc/passwd", "/a/%2e%2e/%2e%2e/x", "/a/../b"] {
            assert_eq!(file_at(dir, path), None, "{path}");
        }
    }
}
