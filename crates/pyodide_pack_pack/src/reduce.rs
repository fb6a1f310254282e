//! Optional size reducers applied to the kept `.py` files: stripping docstrings (here, with ruff's
//! parser) and compiling to `.pyc` (in [`crate::pyc`], with the runtime's own interpreter), and
//! [`reduce_entries`], which turns the plan into the packed entries with the reducers applied.

use globset::{GlobBuilder, GlobSetBuilder};
use pyodide_pack_env::{ArchiveKind, CacheRoot, Environment, FileKind};
use pyodide_pack_graph::Analysis;
use rayon::prelude::*;
use serde::Serialize;

use crate::entries::{Content, PackedEntry};
use crate::plan::{PackPlan, PlannedFile};
use crate::{pyc, PackError, PackOptions};
use ruff_python_ast::visitor::{walk_stmt, Visitor};
use ruff_python_ast::{Expr, PythonVersion, Stmt};
use ruff_python_parser::{parse, Mode, ParseOptions};
use ruff_text_size::{Ranged, TextRange};

/// Why a file kept its docstrings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocstringsKept {
    /// The module mentions `__doc__` (argparse-style help, `pydoc`, doctest helpers): its
    /// docstrings are data.
    ReadsDoc,
    /// It does not parse (the file is shipped as it is).
    DoesNotParse(String),
    /// It has no docstring.
    NoneFound,
}

/// The source with every module, class and function docstring replaced by `None`, or why not.
///
/// Line numbers are preserved (a multi-line docstring becomes `(None` plus its newlines and `)`),
/// so tracebacks still point at the right lines. The result is parsed again before it is used.
pub fn strip_docstrings(source: &str) -> Result<String, DocstringsKept> {
    if source.contains("__doc__") {
        return Err(DocstringsKept::ReadsDoc);
    }
    // Deeper than CPython accepts would overflow the parser's stack.
    if let Some((line, what)) = pyodide_pack_facts::too_deep(source) {
        return Err(DocstringsKept::DoesNotParse(format!("line {line}: {what}")));
    }
    // The newest grammar: this only finds docstrings to blank out; whether the runtime's CPython
    // accepts the file is the facts' question (and its own compiler's, for `.pyc`).
    let options = ParseOptions::from(Mode::Module).with_target_version(PythonVersion::PY314);
    let parsed =
        parse(source, options.clone()).map_err(|e| DocstringsKept::DoesNotParse(e.to_string()))?;
    let Some(module) = parsed.syntax().as_module() else {
        return Err(DocstringsKept::NoneFound);
    };
    let mut finder = DocstringFinder::default();
    // The module's docstring becomes blank lines, not a statement: `from __future__` imports must
    // stay first.
    let module_docstring = finder.first_string(&module.body);
    for stmt in &module.body {
        finder.visit_stmt(stmt);
    }
    if finder.ranges.is_empty() && module_docstring.is_none() {
        return Err(DocstringsKept::NoneFound);
    }
    let mut edits: Vec<(TextRange, bool)> = finder.ranges.into_iter().map(|r| (r, false)).collect();
    edits.extend(module_docstring.map(|r| (r, true)));
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start()));
    let mut out = source.to_string();
    for (range, blank) in edits {
        let (start, end) = (range.start().to_usize(), range.end().to_usize());
        let newlines = source[start..end].matches('\n').count();
        let replacement = match (blank, newlines) {
            (true, n) => "\n".repeat(n),
            (false, 0) => "None".to_string(),
            (false, n) => format!("(None{})", "\n".repeat(n)),
        };
        out.replace_range(start..end, &replacement);
    }
    parse(&out, options).map_err(|e| DocstringsKept::DoesNotParse(e.to_string()))?;
    Ok(out)
}

#[derive(Default)]
struct DocstringFinder {
    ranges: Vec<TextRange>,
}

impl DocstringFinder {
    /// The range of a body's docstring: its first statement, if that is a plain string literal.
    fn first_string(&self, body: &[Stmt]) -> Option<TextRange> {
        match body.first() {
            Some(Stmt::Expr(stmt)) => match stmt.value.as_ref() {
                Expr::StringLiteral(literal) => Some(literal.range()),
                _ => None,
            },
            _ => None,
        }
    }

    fn body(&mut self, body: &[Stmt]) {
        if let Some(range) = self.first_string(body) {
            self.ranges.push(range);
        }
    }
}

impl<'a> Visitor<'a> for DocstringFinder {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => self.body(&def.body),
            Stmt::ClassDef(def) => self.body(&def.body),
            _ => {}
        }
        walk_stmt(self, stmt);
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReducerStats {
    pub strip_docstrings: bool,
    /// Files whose docstrings were stripped.
    pub docstrings_stripped: usize,
    /// Files that kept them because they read `__doc__` or are excluded in the config.
    pub docstrings_kept: Vec<String>,
    pub compile_pyc: bool,
    pub pyc_files: usize,
}

/// The content of every planned file, after the reducers the options ask for.
pub(crate) fn reduce_entries(
    env: &Environment,
    analysis: &Analysis,
    plan: &PackPlan,
    options: &PackOptions,
    cache: &CacheRoot,
    warnings: &mut Vec<String>,
) -> Result<(Vec<PackedEntry>, ReducerStats), PackError> {
    let mut stats = ReducerStats {
        strip_docstrings: options.strip_docstrings,
        compile_pyc: options.compile_pyc,
        ..Default::default()
    };
    let keep_docs = {
        let mut builder = GlobSetBuilder::new();
        for pattern in &options.docstring_exclude {
            let glob = GlobBuilder::new(pattern)
                .build()
                .map_err(|e| PackError::Compile {
                    message: format!("docstring-exclude: bad glob {pattern:?}: {}", e.kind()),
                })?;
            builder.add(glob);
        }
        builder.build().map_err(|e| PackError::Compile {
            message: format!("docstring-exclude: {e}"),
        })?
    };
    // Reducers touch the stdlib's and the wheels' Python sources; the app's own files ship as
    // they are.
    let reducible = |f: &PlannedFile| {
        env.entry(f.file).kind == FileKind::Python && env.archive(f.file).kind != ArchiveKind::App
    };
    let reduce_any = options.strip_docstrings || options.compile_pyc;

    enum Step {
        Raw,
        Source(Vec<u8>, Option<String>),
    }
    // Stripping parses: on the parsing threads, whose stacks fit CPython's nesting limits.
    let steps: Vec<Step> = pyodide_pack_facts::parsing_pool().install(|| {
        plan.files
            .par_iter()
            .map(|f| -> Result<Step, PackError> {
                if env.archive(f.file).kind == ArchiveKind::App {
                    return Ok(Step::Source(env.read(f.file)?, None));
                }
                if !(reduce_any && reducible(f)) {
                    return Ok(Step::Raw);
                }
                let bytes = env.read(f.file)?;
                if !options.strip_docstrings {
                    return Ok(Step::Source(bytes, None));
                }
                let module = analysis.graph.module_of.get(&f.file);
                if module.is_some_and(|m| keep_docs.is_match(m)) {
                    return Ok(Step::Source(
                        bytes,
                        Some("excluded in docstring-exclude".into()),
                    ));
                }
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    return Ok(Step::Source(bytes, Some("not UTF-8".into())));
                };
                Ok(match strip_docstrings(text) {
                    Ok(stripped) => Step::Source(stripped.into_bytes(), None),
                    Err(DocstringsKept::NoneFound) => Step::Source(bytes, None),
                    Err(DocstringsKept::ReadsDoc) => {
                        Step::Source(bytes, Some("reads __doc__".into()))
                    }
                    Err(DocstringsKept::DoesNotParse(e)) => {
                        Step::Source(bytes, Some(format!("does not parse ({e})")))
                    }
                })
            })
            .collect::<Result<_, _>>()
    })?;

    let mut entries = Vec::with_capacity(plan.files.len());
    let mut pyc_jobs = Vec::new();
    for (f, step) in plan.files.iter().zip(steps) {
        let content = match step {
            Step::Raw => Content::Raw(f.file),
            Step::Source(bytes, kept_because) => {
                let app_file = env.archive(f.file).kind == ArchiveKind::App;
                if options.strip_docstrings && !app_file {
                    match kept_because {
                        Some(why) => stats
                            .docstrings_kept
                            .push(format!("{}: {why}", env.display(f.file))),
                        None => stats.docstrings_stripped += 1,
                    }
                }
                if options.compile_pyc && !app_file {
                    pyc_jobs.push((entries.len(), bytes.clone()));
                }
                Content::Bytes(bytes)
            }
        };
        entries.push(PackedEntry {
            file: f.file,
            name: f.name.clone(),
            content,
            destination: f.destination,
        });
    }
    if !pyc_jobs.is_empty() {
        let jobs: Vec<pyc::PycJob> = pyc_jobs
            .iter()
            .map(|(i, source)| pyc::PycJob {
                source: source.clone(),
                dfile: env.entry(entries[*i].file).install_path.clone(),
            })
            .collect();
        let compiled = pyc::compile_pyc(env, cache, &jobs, options.timeout)?;
        warnings.extend(compiled.warnings);
        for ((i, _), pyc) in pyc_jobs.iter().zip(compiled.pycs) {
            if let Some(bytes) = pyc {
                let entry = &mut entries[*i];
                entry.name = format!("{}c", entry.name);
                entry.content = Content::Bytes(bytes);
                stats.pyc_files += 1;
            }
        }
    }
    Ok((entries, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_keeps_line_numbers() {
        let source = "\"\"\"Module.\n\nMore.\"\"\"\nimport os\n\nclass A:\n    'one line'\n    def f(self):\n        \"\"\"Doc\n        more\"\"\"\n        return 1\n\ndef g():\n    \"doc\"\n";
        let out = strip_docstrings(source).unwrap();
        assert_eq!(
            out,
            "\n\n\nimport os\n\nclass A:\n    None\n    def f(self):\n        (None\n)\n        return 1\n\ndef g():\n    None\n"
        );
        assert_eq!(out.lines().count(), source.lines().count());
    }

    #[test]
    fn future_imports_stay_first() {
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nx: int = 1\n";
        assert_eq!(
            strip_docstrings(source).unwrap(),
            "\nfrom __future__ import annotations\nx: int = 1\n"
        );
    }

    #[test]
    fn a_module_reading_doc_keeps_them() {
        let source = "\"\"\"Usage: tool\"\"\"\nprint(__doc__)\n";
        assert_eq!(strip_docstrings(source), Err(DocstringsKept::ReadsDoc));
    }

    #[test]
    fn strings_that_are_not_docstrings_stay() {
        let source = "x = 1\n\"not a docstring\"\nb\"bytes\"\n";
        assert_eq!(strip_docstrings(source), Err(DocstringsKept::NoneFound));
    }

    #[test]
    fn a_file_that_does_not_parse_is_shipped_as_is() {
        assert!(matches!(
            strip_docstrings("def (:\n"),
            Err(DocstringsKept::DoesNotParse(_))
        ));
    }
}
