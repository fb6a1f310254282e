//! How deeply a Python source nests, measured before any parser sees it.
//!
//! A recursive-descent parser and the visitors over its tree recurse once per nesting level, so a
//! file of 200,000 parentheses or a 100,000-term `1+1+...` chain would overflow the stack and
//! abort the whole tool. CPython refuses such files too (`too many nested parentheses`, or a
//! `RecursionError` while compiling), so they cannot be imported anyway: [`too_deep`] finds them
//! with a linear scan, and the caller treats them as files that do not parse.

/// CPython's own limit on nested brackets (its tokenizer's `MAXLEVEL`): deeper is a
/// `SyntaxError: too many nested parentheses`.
pub const MAX_BRACKETS: u32 = 200;

/// Operators chained in one expression, past which a file is refused. CPython's compiler runs
/// out of recursion on chains of a few thousand (5,000 `+` terms fail in 3.11); 1,000 keeps every
/// file seen in practice and bounds the tree's depth for the parser and the visitors.
pub const MAX_CHAIN: u32 = 1000;

/// Where a source first nests deeper than [`MAX_BRACKETS`] or chains more than [`MAX_CHAIN`]
/// operators: (1-based line, what is too deep).
///
/// The measure is an upper bound of the syntax tree's depth: open brackets, plus, at the current
/// bracket level, the operators chained since the last `,` `;` `:` or line end (`1+1+1`,
/// `not not x`, `a if b else c if d else e` each nest once per operator, and so do the trailers
/// of `a.b.c`, `f()()` and `x[0][0]`). Strings and comments are skipped.
pub fn too_deep(source: &str) -> Option<(u32, &'static str)> {
    let bytes = source.as_bytes();
    let mut line = 1u32;
    let mut i = 0;
    // Operators chained at each open bracket level (the last one is the current level).
    let mut chains: Vec<u32> = vec![0];
    let mut chained: u32 = 0; // the sum of `chains`
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                line += 1;
                if chains.len() == 1 {
                    // A logical line ends outside brackets.
                    chained -= chains[0];
                    chains[0] = 0;
                }
                i += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' | b'"' => {
                let triple = bytes.len() >= i + 3 && bytes[i + 1] == c && bytes[i + 2] == c;
                let quote_len = if triple { 3 } else { 1 };
                i += quote_len;
                while i < bytes.len() {
                    if bytes[i] == b'\\' {
                        if bytes.get(i + 1) == Some(&b'\n') {
                            line += 1;
                        }
                        i += 2;
                        continue;
                    }
                    if bytes[i] == b'\n' {
                        line += 1;
                        if !triple {
                            break; // an unterminated string: the parser will say so
                        }
                    }
                    if bytes[i] == c
                        && (!triple
                            || (bytes.get(i + 1) == Some(&c) && bytes.get(i + 2) == Some(&c)))
                    {
                        i += quote_len;
                        break;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                // A call or subscript (`f(x)`, `a[0]`, `f()()`) wraps what precedes it: one
                // more level of the tree at this bracket level, like an operator.
                let trailer = c != b'{'
                    && bytes[..i]
                        .iter()
                        .rev()
                        .find(|b| !matches!(b, b' ' | b'\t'))
                        .is_some_and(|b| {
                            b.is_ascii_alphanumeric()
                                || matches!(b, b'_' | b')' | b']' | b'\'' | b'"')
                        });
                if trailer {
                    let last = chains.len() - 1;
                    chains[last] += 1;
                    chained += 1;
                }
                chains.push(0);
                i += 1;
            }
            b'.' => {
                // An attribute (`a.b.c`) nests once per dot; a float or `...` only adds a little
                // to a count that ends with the line.
                let last = chains.len() - 1;
                chains[last] += 1;
                chained += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                if chains.len() > 1 {
                    chained -= chains.pop().unwrap_or(0);
                }
                i += 1;
            }
            b',' | b';' | b':' => {
                let last = chains.len() - 1;
                chained -= chains[last];
                chains[last] = 0;
                i += 1;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'~' | b'<' | b'>' => {
                let last = chains.len() - 1;
                chains[last] += 1;
                chained += 1;
                // `**`, `//`, `<<`, `>=`, `->` ... are one operator.
                i += 1;
                while i < bytes.len() && matches!(bytes[i], b'*' | b'/' | b'<' | b'>' | b'=') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &bytes[start..i];
                if matches!(
                    word,
                    b"not" | b"and" | b"or" | b"if" | b"else" | b"lambda" | b"await"
                ) {
                    let last = chains.len() - 1;
                    chains[last] += 1;
                    chained += 1;
                }
            }
            _ => i += 1,
        }
        if chains.len() as u32 - 1 > MAX_BRACKETS {
            return Some((line, "too many nested brackets"));
        }
        if chained > MAX_CHAIN {
            return Some((line, "too many chained operators"));
        }
    }
    None
}

/// A source smaller than this may be parsed on any thread with a main thread's stack (8 MiB):
/// with [`too_deep`] bounding its nesting, a warm run's lone small file does not pay for starting
/// [`parsing_pool`]'s threads.
pub const INLINE_PARSE_BYTES: u64 = 64 * 1024;

/// The threads that parse: a parser and the visitors over its tree recurse once per nesting
/// level, and a file may nest up to CPython's limits (200 brackets, long operator chains; deeper
/// files are refused before parsing, see `pyodide_pack_facts::too_deep`). Rayon's default 2 MiB
/// stacks are not enough for that in every build, so these get 64 MiB (address space, committed
/// only as used).
pub fn parsing_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(64 << 20)
            .thread_name(|i| format!("parse-{i}"))
            .build()
            .expect("a thread pool for parsing")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_is_shallow() {
        let src = "x = [-1, -2, -3] * 4\nif a and not b:\n    y = f(a + b, c - d) ** 2 // 3\ns = '((((' + \"))\" # (((\n";
        assert_eq!(too_deep(src), None);
        // A long flat list of negative numbers is not nesting.
        let table = format!("T = [{}]\n", vec!["-1"; 50_000].join(", "));
        assert_eq!(too_deep(&table), None);
    }

    #[test]
    fn deep_brackets_chains_and_not_runs_are_found_with_their_line() {
        let parens = format!(
            "a = 1\nx = {}1{}\n",
            "(".repeat(200_000),
            ")".repeat(200_000)
        );
        assert_eq!(too_deep(&parens), Some((2, "too many nested brackets")));
        let chain = format!("x = {}\n", vec!["1"; 100_000].join("+"));
        assert_eq!(too_deep(&chain), Some((1, "too many chained operators")));
        let nots = format!("\n\nx = {}1\n", "not ".repeat(100_000));
        assert_eq!(too_deep(&nots).map(|d| d.0), Some(3));
    }

    #[test]
    fn long_trailer_chains_are_found() {
        for trailer in [".b", "()", "[0]", "(1)", " .b"] {
            let chain = format!("v = a{}\n", trailer.repeat(500_000));
            assert_eq!(
                too_deep(&chain),
                Some((1, "too many chained operators")),
                "{trailer}"
            );
        }
        // Real code chains a few: fluent calls, nested calls, method chains over lines.
        let fluent = "df = pd.read_csv(p).dropna().groupby('a').agg({'b': 'sum'}).reset_index()\n";
        assert_eq!(too_deep(fluent), None);
        let floats = format!("T = [{}]\n", vec!["1.5"; 50_000].join(", "));
        assert_eq!(too_deep(&floats), None);
    }
}
