//! The `_headers` file of Netlify and Cloudflare Pages: rules of a URL path pattern and the headers
//! of the responses whose path it matches.
//!
//! ```text
//! # a comment
//! /immutable/*
//!   Cache-Control: public, max-age=31536000, immutable
//! /index.html
//!   Cache-Control: no-cache
//! ```
//!
//! A line that starts with `/` starts a rule; the `Name: value` lines after it are its headers
//! (indented by convention: both hosts trim every line, so indentation is not required). In a
//! pattern `*` (a "splat") matches any run of characters, `/` included; everything else is
//! literal. Cloudflare's `:name` placeholders and `! Name` removals are not supported.

use axum::http::header::{HeaderName, HeaderValue};

/// The rules of one `_headers` file, in file order.
#[derive(Debug, Default)]
pub(crate) struct HeaderRules {
    rules: Vec<HeaderRule>,
}

/// One rule: the path pattern and the headers of the responses it matches.
#[derive(Debug)]
pub(crate) struct HeaderRule {
    pattern: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// Why a `_headers` file was refused: the 1-based line and what is wrong there, one line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) problem: String,
}

/// Where the header lines being read go.
enum Target {
    /// No rule yet: a header line here is an error.
    None,
    /// The last rule of the list.
    Rule,
    /// A rule for an absolute URL (`https://host/path`, Cloudflare's syntax): it names the
    /// deployed host, never the preview's, so it is checked and dropped.
    OtherHost,
}

impl HeaderRules {
    /// Parses a `_headers` file.
    pub(crate) fn parse(bytes: &[u8]) -> Result<HeaderRules, ParseError> {
        let text = std::str::from_utf8(bytes).map_err(|error| ParseError {
            line: line_of(bytes, error.valid_up_to()),
            problem: "not UTF-8 text".to_string(),
        })?;
        // An editor's byte-order mark is not part of the first line's path.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rules = Vec::new();
        let mut target = Target::None;
        for (index, line) in text.lines().enumerate() {
            let at = |problem: String| ParseError {
                line: index + 1,
                problem,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('/') {
                rules.push(HeaderRule {
                    pattern: line.to_string(),
                    headers: Vec::new(),
                });
                target = Target::Rule;
                continue;
            }
            if is_absolute_url(line) {
                target = Target::OtherHost;
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(at(format!(
                    "{line:?} is neither a path (starting with /) nor a header (\"Name: value\")"
                )));
            };
            let (name, value) = (name.trim(), value.trim());
            if matches!(target, Target::None) {
                return Err(at(format!(
                    "{name:?} outside a rule (a rule starts with a path such as /immutable/*)"
                )));
            }
            let Ok(header_name) = HeaderName::from_bytes(name.as_bytes()) else {
                return Err(at(format!(
                    "{name:?} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"
                )));
            };
            if value.is_empty() {
                return Err(at(format!("{name:?} has no value")));
            }
            let Ok(header_value) = HeaderValue::from_str(value) else {
                return Err(at(format!(
                    "the value of {name:?} is not a header value (it has a control character): {value:?}"
                )));
            };
            if let (Target::Rule, Some(rule)) = (&target, rules.last_mut()) {
                rule.headers.push((header_name, header_value));
            }
        }
        Ok(HeaderRules { rules })
    }

    /// The headers of the rules that match `path` (the request's URI path, percent-decoded), a
    /// header that several rules (or one rule twice) set with its values joined by ", " in file
    /// order, as Cloudflare Pages does. A folder's path (`/`, `/sub/`) also takes the rules of its
    /// `index.html`, the file the server answers it with; since a site writes the same rule for
    /// both (`/` and `/index.html`: `Cache-Control: no-cache`), a value already there is not
    /// repeated.
    pub(crate) fn headers_for(&self, path: &str) -> Vec<(HeaderName, HeaderValue)> {
        let index = path.ends_with('/').then(|| format!("{path}index.html"));
        let mut headers: Vec<(HeaderName, Vec<&HeaderValue>)> = Vec::new();
        let matching = self
            .rules
            .iter()
            .filter(|rule| rule.matches(path) || index.as_deref().is_some_and(|i| rule.matches(i)));
        for rule in matching {
            for (name, value) in &rule.headers {
                match headers.iter_mut().find(|(seen, _)| seen == name) {
                    Some((_, values)) if values.contains(&value) => {}
                    Some((_, values)) => values.push(value),
                    None => headers.push((name.clone(), vec![value])),
                }
            }
        }
        headers
            .into_iter()
            .map(|(name, values)| (name, join(&values)))
            .collect()
    }

    /// How many rules the file has.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }
}

impl HeaderRule {
    /// Whether the pattern matches the whole of `path`, each `*` any run of characters.
    fn matches(&self, path: &str) -> bool {
        let mut pieces = self.pattern.split('*');
        let first = pieces.next().unwrap_or_default();
        let Some(mut rest) = path.strip_prefix(first) else {
            return false;
        };
        let after_splats: Vec<&str> = pieces.collect();
        let Some((last, middle)) = after_splats.split_last() else {
            // No splat: a literal path.
            return rest.is_empty();
        };
        // Each piece between two splats at its first place: taking the earliest leaves the most
        // for the pieces after it, so if any placement matches this one does.
        for piece in middle {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }
}

/// `a, b`: the values of one header as one (RFC 9110 5.3), as a host that sets each sends them.
fn join(values: &[&HeaderValue]) -> HeaderValue {
    let joined = values
        .iter()
        .map(|value| value.as_bytes())
        .collect::<Vec<_>>()
        .join(&b", "[..]);
    HeaderValue::from_bytes(&joined).expect("header values joined by \", \" are one")
}

/// `https://host/path` (any scheme): Cloudflare's rule for a given host.
fn is_absolute_url(line: &str) -> bool {
    line.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// The 1-based line of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count()
}

/// The URI path percent-decoded, as the file server decodes it to find the file; a path whose
/// escapes do not decode to UTF-8 (which names no file) is kept as it is.
pub(crate) fn decode_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_or_else(|_| path.to_string(), |decoded| decoded.into_owned())
}

/// Whether `path` (decoded) names the `_headers` file at the folder's root, which a host never
/// serves. The file server skips empty and `.` segments, and on Windows and macOS file names are
/// case-blind (and Windows drops trailing dots and spaces), so `//_headers`, `/./_Headers` and
/// `/_headers.` name it too; on Linux the last two name no file, so refusing them costs nothing.
pub(crate) fn names_headers_file(path: &str) -> bool {
    let mut segments = path
        .split(['/', '\\'])
        .filter(|segment| !segment.is_empty() && *segment != ".");
    let first = segments.next();
    segments.next().is_none()
        && first.is_some_and(|name| {
            name.trim_end_matches(['.', ' '])
                .eq_ignore_ascii_case(HEADERS_FILE)
        })
}

/// The file's name, at the served folder's root.
pub(crate) const HEADERS_FILE: &str = "_headers";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> HeaderRules {
        HeaderRules::parse(text.as_bytes()).unwrap()
    }

    fn error(text: &[u8]) -> (usize, String) {
        let error = HeaderRules::parse(text).unwrap_err();
        (error.line, error.problem)
    }

    /// The headers for `path` as `name: value` strings.
    fn headers(rules: &HeaderRules, path: &str) -> Vec<String> {
        rules
            .headers_for(path)
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect()
    }

    #[test]
    fn a_file_of_rules_comments_and_blank_lines_parses() {
        let rules = parse(
            "\u{feff}# what pack writes\n\
             /immutable/*\n\
             \x20 Cache-Control: public, max-age=31536000, immutable\n\
             \n\
             /index.html\r\n\
             \tCache-Control:no-cache\r\n\
             \x20 # a comment inside a rule\n\
             \x20 Content-Security-Policy: default-src 'self'; script-src 'self' https://x.test\n\
             /empty\n\
             https://example.pages.dev/*\n\
             \x20 X-Robots-Tag: noindex\n\
             /unindented\n\
             X-Frame-Options: DENY\n",
        );
        assert_eq!(rules.len(), 4);
        assert_eq!(
            headers(&rules, "/immutable/bundle-0a1b.zip"),
            ["cache-control: public, max-age=31536000, immutable"]
        );
        assert_eq!(
            headers(&rules, "/index.html"),
            [
                "cache-control: no-cache",
                "content-security-policy: default-src 'self'; script-src 'self' https://x.test"
            ]
        );
        assert!(headers(&rules, "/empty").is_empty());
        assert_eq!(headers(&rules, "/unindented"), ["x-frame-options: DENY"]);
        // The absolute URL's rule is for its host, not the preview's.
        assert!(headers(&rules, "/anything").is_empty());
        assert!(HeaderRules::parse(b"").unwrap().headers_for("/").is_empty());
    }

    #[test]
    fn a_header_before_any_rule_is_refused_with_its_line() {
        assert_eq!(
            error(b"# cache\n\n  Cache-Control: no-cache\n/x\n"),
            (
                3,
                "\"Cache-Control\" outside a rule (a rule starts with a path such as /immutable/*)"
                    .to_string()
            )
        );
    }

    #[test]
    fn a_line_that_is_neither_a_path_nor_a_header_is_refused() {
        assert_eq!(
            error(b"/x\n  Cache-Control no-cache\n"),
            (
                2,
                "\"Cache-Control no-cache\" is neither a path (starting with /) nor a header (\"Name: value\")"
                    .to_string()
            )
        );
        // A path without its leading slash is not a path.
        assert_eq!(error(b"immutable/*\n").0, 1);
    }

    #[test]
    fn a_bad_header_name_is_refused() {
        let (line, problem) = error(b"/x\n  Cache Control: no-cache\n");
        assert_eq!(line, 2);
        assert!(
            problem.starts_with("\"Cache Control\" is not a header name"),
            "{problem}"
        );
        let (line, problem) = error(b"/x\n  : no-cache\n");
        assert_eq!(line, 2);
        assert!(
            problem.starts_with("\"\" is not a header name"),
            "{problem}"
        );
    }

    #[test]
    fn a_bad_or_missing_header_value_is_refused() {
        let (line, problem) = error(b"/x\n/y\n  X-Name: a\x7fb\n");
        assert_eq!(line, 3);
        assert_eq!(
            problem,
            "the value of \"X-Name\" is not a header value (it has a control character): \"a\\u{7f}b\""
        );
        assert_eq!(
            error(b"/x\n  X-Name:   \n"),
            (2, "\"X-Name\" has no value".to_string())
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_the_line_of_the_first_bad_byte() {
        assert_eq!(
            error(b"/x\n  X-A: a\n  X-B: \xff\n"),
            (3, "not UTF-8 text".to_string())
        );
    }

    #[test]
    fn a_splat_matches_any_run_of_characters_slashes_included() {
        let rules = parse(
            "/immutable/*\n  X-A: a\n/*.wasm\n  X-B: b\n/a/*/c/*.js\n  X-C: c\n/*\n  X-D: d\n",
        );
        assert_eq!(headers(&rules, "/immutable/"), ["x-a: a", "x-d: d"]);
        assert_eq!(headers(&rules, "/immutable/x/y.z"), ["x-a: a", "x-d: d"]);
        assert_eq!(headers(&rules, "/immutable"), ["x-d: d"]);
        assert_eq!(
            headers(&rules, "/pyodide/pyodide.asm.wasm"),
            ["x-b: b", "x-d: d"]
        );
        assert_eq!(headers(&rules, "/x.wasm.txt"), ["x-d: d"]);
        assert_eq!(headers(&rules, "/a/b/c/d/c/e.js"), ["x-c: c", "x-d: d"]);
        assert_eq!(headers(&rules, "/a/c/e.js"), ["x-d: d"]);
        assert_eq!(headers(&rules, "/"), ["x-d: d"]);
    }

    #[test]
    fn a_literal_pattern_matches_only_its_own_path() {
        let rules = parse("/app.py\n  X-A: a\n/sub/\n  X-B: b\n");
        assert_eq!(headers(&rules, "/app.py"), ["x-a: a"]);
        assert!(headers(&rules, "/app.pyc").is_empty());
        assert!(headers(&rules, "/sub/app.py").is_empty());
        assert!(headers(&rules, "/app.py/").is_empty());
        assert_eq!(headers(&rules, "/sub/"), ["x-b: b"]);
        assert!(headers(&rules, "/sub").is_empty());
    }

    #[test]
    fn a_folder_takes_the_rules_of_its_index_page() {
        let rules = parse(
            "/\n  X-Root: slash\n/index.html\n  X-Root: index\n/sub/index.html\n  X-Sub: index\n/*/index.html\n  X-Any: index\n",
        );
        assert_eq!(headers(&rules, "/"), ["x-root: slash, index"]);
        // The rule a site writes for both `/` and `/index.html` is not sent twice.
        let both = parse("/\n  Cache-Control: no-cache\n/index.html\n  Cache-Control: no-cache\n");
        assert_eq!(headers(&both, "/"), ["cache-control: no-cache"]);
        assert_eq!(headers(&rules, "/index.html"), ["x-root: index"]);
        assert_eq!(headers(&rules, "/sub/"), ["x-sub: index", "x-any: index"]);
        assert!(headers(&rules, "/sub").is_empty());
    }

    #[test]
    fn a_header_several_rules_set_has_their_values_joined_in_file_order() {
        let rules = parse(
            "/*\n  Cache-Control: no-transform\n  Link: <a>\n  link: <b>\n/*.js\n  cache-control: max-age=60\n/*\n  Cache-Control: public\n",
        );
        assert_eq!(
            headers(&rules, "/index.mjs"),
            ["cache-control: no-transform, public", "link: <a>, <b>"]
        );
        assert_eq!(
            headers(&rules, "/index.js"),
            [
                "cache-control: no-transform, max-age=60, public",
                "link: <a>, <b>"
            ]
        );
    }

    #[test]
    fn request_paths_are_percent_decoded() {
        assert_eq!(
            decode_path("/with%20space/%5Fheaders"),
            "/with space/_headers"
        );
        assert_eq!(decode_path("/caf%C3%A9.txt"), "/café.txt");
        // Not an escape, or not UTF-8 once decoded: kept as it is.
        assert_eq!(decode_path("/100%/%zz%4"), "/100%/%zz%4");
        assert_eq!(decode_path("/%ff.txt"), "/%ff.txt");
    }

    #[test]
    fn only_the_root_headers_file_is_hidden() {
        for path in [
            "/_headers",
            "//_headers",
            "/./_headers",
            "/_headers/",
            "/_HEADERS",
            "/_headers.",
        ] {
            assert!(names_headers_file(path), "{path}");
        }
        for path in [
            "/",
            "/sub/_headers",
            "/_headers.txt",
            "/x_headers",
            "/_headers/x",
        ] {
            assert!(!names_headers_file(path), "{path}");
        }
    }
}
