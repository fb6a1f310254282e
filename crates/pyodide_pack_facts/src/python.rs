//! Import facts of one Python source, from ruff's parser, targeting the runtime's CPython: a file
//! that CPython would refuse (3.14's `except A, B:` on 3.12) is a parse failure there.

use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{self as ast, Expr, PythonVersion, Stmt};
use ruff_python_parser::{parse, Mode, ParseOptions};
use ruff_text_size::{Ranged, TextRange};
use serde::{Deserialize, Serialize};

/// Where in the source a fact comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// 1-based.
    pub line: u32,
    /// The statement's text, white space folded.
    pub text: String,
}

/// One `import a.b` / `from .x import y` statement (one per imported name for plain `import`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportStatement {
    /// Leading dots of a relative import.
    pub level: u32,
    /// The dotted module (`None` for `from . import x`).
    pub module: Option<String>,
    /// For `from` imports: the imported names (`*` for a star import). Empty for `import a.b`.
    pub names: Vec<String>,
    pub is_from: bool,
    pub site: Site,
    /// Inside a `try` whose handlers catch `ImportError` (or a parent of it), in its body or in
    /// one of its handlers (the fallback import).
    pub optional: bool,
    /// Inside a function or class body: runs only if that code runs.
    pub nested: bool,
}

/// `importlib.import_module("x")`, `__import__("x")` with a literal name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicImport {
    /// The literal name; starts with `.` when relative to `package`.
    pub name: String,
    /// The relative name is relative to the importing module's package (`package=__name__`,
    /// `__package__`, `__spec__.parent`).
    pub relative_to_self: bool,
    pub site: Site,
    pub optional: bool,
    pub nested: bool,
}

/// A dynamic import whose name is computed but starts with a literal (`"encodings." + name`,
/// `f"pkg.writers.{name}"`), or is relative to a literal or own package
/// (`import_module("." + name, package="pkg")`): every module under the prefix can be the one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicFamily {
    /// The literal start of the module name: `encodings.`, `_sysconfigdata_`, or for a relative
    /// family the package followed by a dot (`pkg.`); empty with `relative_to_self` alone.
    pub prefix: String,
    /// The prefix is relative to the importing module's package (`package=__name__`).
    pub relative_to_self: bool,
    pub site: Site,
    pub optional: bool,
    pub nested: bool,
}

/// A string literal that reads as a module name: `"pygments.lexers.python"`, a `module:attr`
/// spec (`"pkg.plugins:load"`), or a package prefix with a trailing dot (`"docutils.languages."`).
/// Mapping tables of plugins found by name are made of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameLiteral {
    /// The module part (`pkg.plugins` of `pkg.plugins:load`); with `prefix`, the package.
    pub name: String,
    /// The literal ended with a dot: a prefix for every module of that package.
    pub prefix: bool,
    pub site: Site,
}

/// How a module reaches data files beside its code: through `__file__`, `importlib.resources`,
/// `pkgutil.get_data` or `pkg_resources` on its own package, or on a package named by a literal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataAccess {
    /// The first site that reaches the module's own package folder.
    pub own: Option<Site>,
    /// Packages named by a literal (`files("tzdata.zoneinfo")`), each with its first site.
    pub packages: Vec<(String, Site)>,
}

/// Signs that a module loads its submodules lazily (lazy_loader, module `__getattr__`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LazyMarkers {
    /// `lazy.attach_stub(__name__, __file__)`: the imports of the `.pyi` beside the module.
    pub attach_stub: Option<Site>,
    /// A module-level `def __getattr__`.
    pub module_getattr: Option<Site>,
    /// `lazy.attach(__name__, submodules=[...], submod_attrs={...})`: literal submodule names.
    pub attach_submodules: Vec<(String, Site)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseFailure {
    pub line: u32,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonFacts {
    pub imports: Vec<ImportStatement>,
    pub dynamic_imports: Vec<DynamicImport>,
    /// Dynamic imports of a computed name with a literal start: families of modules.
    #[serde(default)]
    pub dynamic_families: Vec<DynamicFamily>,
    /// Dynamic import calls whose module name is computed with no literal part to go on.
    pub unresolved_dynamic: Vec<Site>,
    /// String literals that read as module names (at most [`MAX_NAME_LITERALS`] per file).
    #[serde(default)]
    pub name_literals: Vec<NameLiteral>,
    #[serde(default)]
    pub data_access: DataAccess,
    /// The first call that asks `importlib.metadata` (or `pkg_resources`) for entry points: any
    /// distribution's plugins can load from here.
    #[serde(default)]
    pub entry_points_call: Option<Site>,
    /// A literal module-level `__all__`, which `from pkg import *` follows into submodules.
    pub all_names: Option<Vec<String>>,
    pub lazy: LazyMarkers,
    /// Set when the file does not parse; `imports` then come from a line-by-line scan.
    pub parse_error: Option<ParseFailure>,
}

/// Byte offsets of line starts, for turning ranges into 1-based line numbers.
struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        LineIndex { starts }
    }

    fn line(&self, offset: u32) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
}

const MAX_TEXT: usize = 160;

/// Name literals kept per file: a generated table of plugins has a few thousand at most.
pub(crate) const MAX_NAME_LITERALS: usize = 20_000;

fn folded_text(source: &str, range: TextRange) -> String {
    let raw = &source[range.start().to_usize()..range.end().to_usize()];
    let mut out = String::with_capacity(raw.len().min(MAX_TEXT));
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

/// Extracts the import facts of a Python source. Never fails: a file that does not parse gets a
/// [`ParseFailure`] and the imports a line-by-line scan can find.
pub fn python_facts(source: &str, target: PythonVersion) -> PythonFacts {
    // A file nested deeper than CPython accepts would overflow the parser's stack: refused first.
    if let Some((line, what)) = crate::depth::too_deep(source) {
        let mut facts = scan_lines(source);
        facts.parse_error = Some(ParseFailure {
            line,
            message: format!("{what} (CPython refuses it too)"),
        });
        return facts;
    }
    let options = ParseOptions::from(Mode::Module).with_target_version(target);
    let lines = LineIndex::new(source);
    match parse(source, options) {
        Ok(parsed) => {
            let Some(module) = parsed.syntax().as_module() else {
                return PythonFacts::default();
            };
            let mut collector = Collector {
                source,
                lines: &lines,
                facts: PythonFacts::default(),
                nested: 0,
                optional: 0,
            };
            for stmt in &module.body {
                collector.visit_stmt(stmt);
            }
            // Newer syntax than the target's: the tree (and its imports) is sound, but CPython
            // of that version refuses the file, so it is a failure all the same.
            if let Some(newer) = parsed.unsupported_syntax_errors().first() {
                collector.facts.parse_error = Some(ParseFailure {
                    line: lines.line(newer.range.start().to_u32()),
                    message: newer.to_string(),
                });
            }
            collector.facts
        }
        Err(error) => {
            let mut facts = scan_lines(source);
            facts.parse_error = Some(ParseFailure {
                line: lines.line(error.location.start().to_u32()),
                message: error.error.to_string(),
            });
            facts
        }
    }
}

struct Collector<'s> {
    source: &'s str,
    lines: &'s LineIndex,
    facts: PythonFacts,
    nested: u32,
    optional: u32,
}

impl Collector<'_> {
    fn site(&self, range: TextRange) -> Site {
        Site {
            line: self.lines.line(range.start().to_u32()),
            text: folded_text(self.source, range),
        }
    }

    fn dynamic_call(&mut self, call: &ast::ExprCall) {
        let func = &*call.func;
        let kind = match func {
            Expr::Name(n) if n.id.as_str() == "__import__" => Some("__import__"),
            Expr::Name(n) if n.id.as_str() == "import_module" => Some("import_module"),
            Expr::Attribute(a) if a.attr.as_str() == "import_module" => Some("import_module"),
            Expr::Attribute(a) if a.attr.as_str() == "__import__" => Some("__import__"),
            Expr::Attribute(a) if a.attr.as_str() == "attach_stub" => {
                self.facts.lazy.attach_stub = Some(self.site(call.range()));
                None
            }
            Expr::Name(n) if n.id.as_str() == "attach_stub" => {
                self.facts.lazy.attach_stub = Some(self.site(call.range()));
                None
            }
            Expr::Attribute(a) if a.attr.as_str() == "attach" && is_lazy_loader(&a.value) => {
                self.lazy_attach(call);
                None
            }
            _ => None,
        };
        let Some(kind) = kind else { return };
        let site = self.site(call.range());
        let Some(first) = call
            .arguments
            .args
            .first()
            .or_else(|| call.arguments.find_keyword("name").map(|k| &k.value))
        else {
            return;
        };
        match first {
            Expr::StringLiteral(s) => {
                let name = s.value.to_str().to_string();
                let package = if kind == "import_module" {
                    call.arguments
                        .args
                        .get(1)
                        .or_else(|| call.arguments.find_keyword("package").map(|k| &k.value))
                } else {
                    None
                };
                let relative_to_self = package.is_some_and(is_own_package);
                if name.starts_with('.') && !relative_to_self {
                    self.facts.unresolved_dynamic.push(site);
                    return;
                }
                self.facts.dynamic_imports.push(DynamicImport {
                    name,
                    relative_to_self,
                    site,
                    optional: self.optional > 0,
                    nested: self.nested > 0,
                });
            }
            computed => {
                let package = if kind == "import_module" {
                    call.arguments
                        .args
                        .get(1)
                        .or_else(|| call.arguments.find_keyword("package").map(|k| &k.value))
                } else {
                    None
                };
                match family_of(computed, package) {
                    Some((prefix, relative_to_self)) => {
                        self.facts.dynamic_families.push(DynamicFamily {
                            prefix,
                            relative_to_self,
                            site,
                            optional: self.optional > 0,
                            nested: self.nested > 0,
                        })
                    }
                    None => self.facts.unresolved_dynamic.push(site),
                }
            }
        }
    }

    /// `importlib.resources.files(...)`, `pkgutil.get_data(...)`, `pkg_resources.resource_*`:
    /// data of the named package (a literal), else of the module's own package.
    fn data_call(&mut self, call: &ast::ExprCall) {
        let (name, qualifier) = match &*call.func {
            Expr::Name(n) => (n.id.as_str(), None),
            Expr::Attribute(a) => (a.attr.as_str(), Some(&*a.value)),
            _ => return,
        };
        let qualified_by = |names: &[&str]| match qualifier {
            Some(Expr::Name(n)) => names.contains(&n.id.as_str()),
            Some(Expr::Attribute(a)) => names.contains(&a.attr.as_str()),
            _ => false,
        };
        let is_data_call = match name {
            "files" | "open_binary" | "open_text" | "read_binary" | "read_text" | "contents"
            | "is_resource" => {
                qualifier.is_none() || qualified_by(&["resources", "importlib_resources"])
            }
            "get_data" => qualifier.is_none() || qualified_by(&["pkgutil"]),
            "resource_filename" | "resource_string" | "resource_stream" | "resource_listdir"
            | "resource_exists" => true,
            _ => false,
        };
        if !is_data_call {
            return;
        }
        let site = self.site(call.range());
        match call.arguments.args.first() {
            Some(Expr::StringLiteral(s)) if is_dotted_name(s.value.to_str()) => {
                let package = s.value.to_str().to_string();
                if !self
                    .facts
                    .data_access
                    .packages
                    .iter()
                    .any(|(p, _)| *p == package)
                {
                    self.facts.data_access.packages.push((package, site));
                }
            }
            // `__name__`, `__package__`, `__spec__.parent`, a module object, nothing: the
            // module's own package, the generous reading.
            _ => self.own_data(site),
        }
    }

    fn own_data(&mut self, site: Site) {
        if self.facts.data_access.own.is_none() {
            self.facts.data_access.own = Some(site);
        }
    }

    fn name_literal(&mut self, literal: &ast::ExprStringLiteral) {
        if self.facts.name_literals.len() >= MAX_NAME_LITERALS {
            return;
        }
        let text = literal.value.to_str();
        let Some((name, prefix)) = name_in_literal(text) else {
            return;
        };
        let site = self.site(literal.range());
        self.facts.name_literals.push(NameLiteral {
            name: name.to_string(),
            prefix,
            site,
        });
    }

    fn lazy_attach(&mut self, call: &ast::ExprCall) {
        let site = self.site(call.range());
        let submodules = call
            .arguments
            .find_keyword("submodules")
            .map(|k| &k.value)
            .or_else(|| call.arguments.args.get(1));
        let attrs = call
            .arguments
            .find_keyword("submod_attrs")
            .map(|k| &k.value)
            .or_else(|| call.arguments.args.get(2));
        let mut names = Vec::new();
        if let Some(expr) = submodules {
            names.extend(string_elements(expr));
        }
        if let Some(Expr::Dict(dict)) = attrs {
            for item in &dict.items {
                if let Some(Expr::StringLiteral(s)) = &item.key {
                    names.push(s.value.to_str().to_string());
                }
            }
        }
        for name in names {
            self.facts.lazy.attach_submodules.push((name, site.clone()));
        }
    }
}

/// The family a computed module name belongs to: its literal prefix (absolute), or the package it
/// is relative to. `None` when nothing literal bounds it.
fn family_of(name: &Expr, package: Option<&Expr>) -> Option<(String, bool)> {
    let prefix = literal_prefix(name).unwrap_or_default();
    if let Some(relative) = prefix.strip_prefix('.') {
        // Relative: to a literal package, or to the module's own package.
        let relative = relative.trim_start_matches('.');
        return match package {
            Some(Expr::StringLiteral(p)) if is_dotted_name(p.value.to_str()) => {
                Some((format!("{}.{relative}", p.value.to_str()), false))
            }
            Some(p) if is_own_package(p) => Some((relative.to_string(), true)),
            _ => None,
        };
    }
    if prefix.is_empty() {
        // `import_module(name, "pkg")`: a relative name can only be under pkg.
        return match package {
            Some(Expr::StringLiteral(p)) if is_dotted_name(p.value.to_str()) => {
                Some((format!("{}.", p.value.to_str()), false))
            }
            Some(p) if is_own_package(p) => Some((String::new(), true)),
            _ => None,
        };
    }
    // A prefix must read as the start of a module name and bound the family: a dotted start,
    // or a name long enough not to match half the environment.
    let valid = prefix
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && !prefix.starts_with(|c: char| c.is_ascii_digit());
    (valid && (prefix.contains('.') || prefix.len() >= 4)).then_some((prefix, false))
}

/// The literal text a computed string starts with: `"p." + x`, `f"p.{x}"`, `"p.%s" % x`,
/// `"p.{}".format(x)`.
fn literal_prefix(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        Expr::BinOp(b) if b.op == ast::Operator::Add => literal_prefix(&b.left),
        Expr::BinOp(b) if b.op == ast::Operator::Mod => match &*b.left {
            Expr::StringLiteral(s) => {
                let text = s.value.to_str();
                Some(text[..text.find('%').unwrap_or(text.len())].to_string())
            }
            _ => None,
        },
        Expr::FString(f) => {
            let mut out = String::new();
            for part in f.value.iter() {
                match part {
                    ast::FStringPart::Literal(l) => out.push_str(l.value.as_ref()),
                    ast::FStringPart::FString(f) => {
                        for element in f.elements.iter() {
                            match element {
                                ast::InterpolatedStringElement::Literal(l) => {
                                    out.push_str(&l.value)
                                }
                                ast::InterpolatedStringElement::Interpolation(_) => {
                                    return Some(out)
                                }
                            }
                        }
                    }
                }
            }
            Some(out)
        }
        Expr::Call(c) => match &*c.func {
            Expr::Attribute(a) if a.attr.as_str() == "format" => match &*a.value {
                Expr::StringLiteral(s) => {
                    let text = s.value.to_str();
                    Some(text[..text.find('{').unwrap_or(text.len())].to_string())
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// The module a string literal names, if it reads as one: a dotted name with at least one dot,
/// a `module:attr` spec, or a package with a trailing dot (then `prefix` is true).
fn name_in_literal(text: &str) -> Option<(&str, bool)> {
    if text.len() > 200 || text.len() < 3 {
        return None;
    }
    if let Some(package) = text.strip_suffix('.') {
        return is_dotted_name(package).then_some((package, true));
    }
    if let Some((module, attr)) = text.split_once(':') {
        return (is_dotted_name(module) && is_dotted_name(attr.trim())).then_some((module, false));
    }
    (text.contains('.') && is_dotted_name(text)).then_some((text, false))
}

fn is_lazy_loader(expr: &Expr) -> bool {
    matches!(expr, Expr::Name(n) if matches!(n.id.as_str(), "lazy" | "lazy_loader"))
}

/// `__name__`, `__package__` or `__spec__.parent`.
fn is_own_package(expr: &Expr) -> bool {
    match expr {
        Expr::Name(n) => matches!(n.id.as_str(), "__name__" | "__package__"),
        Expr::Attribute(a) => {
            a.attr.as_str() == "parent"
                && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "__spec__")
        }
        _ => false,
    }
}

fn string_elements(expr: &Expr) -> Vec<String> {
    let elts: &[Expr] = match expr {
        Expr::List(l) => &l.elts,
        Expr::Tuple(t) => &t.elts,
        Expr::Set(s) => &s.elts,
        _ => return Vec::new(),
    };
    elts.iter()
        .filter_map(|e| match e {
            Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            _ => None,
        })
        .collect()
}

/// `TYPE_CHECKING` or `typing.TYPE_CHECKING` (and the `t.TYPE_CHECKING` aliases).
fn is_type_checking(expr: &Expr) -> bool {
    match expr {
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => a.attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

fn catches_import_error(handlers: &[ast::ExceptHandler]) -> bool {
    fn names_import_error(expr: &Expr) -> bool {
        match expr {
            Expr::Name(n) => matches!(
                n.id.as_str(),
                "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"
            ),
            Expr::Attribute(a) => matches!(a.attr.as_str(), "ImportError" | "ModuleNotFoundError"),
            Expr::Tuple(t) => t.elts.iter().any(names_import_error),
            _ => false,
        }
    }
    handlers.iter().any(|h| {
        let ast::ExceptHandler::ExceptHandler(h) = h;
        match &h.type_ {
            None => true,
            Some(t) => names_import_error(t),
        }
    })
}

impl<'a> Visitor<'a> for Collector<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    self.facts.imports.push(ImportStatement {
                        level: 0,
                        module: Some(alias.name.to_string()),
                        names: Vec::new(),
                        is_from: false,
                        site: self.site(import.range),
                        optional: self.optional > 0,
                        nested: self.nested > 0,
                    });
                }
            }
            Stmt::ImportFrom(import) => {
                self.facts.imports.push(ImportStatement {
                    level: import.level,
                    module: import.module.as_ref().map(|m| m.to_string()),
                    names: import.names.iter().map(|a| a.name.to_string()).collect(),
                    is_from: true,
                    site: self.site(import.range),
                    optional: self.optional > 0,
                    nested: self.nested > 0,
                });
            }
            Stmt::Try(try_stmt) => {
                let optional = catches_import_error(&try_stmt.handlers);
                self.optional += optional as u32;
                for s in &try_stmt.body {
                    self.visit_stmt(s);
                }
                // The handler's imports are the fallback: they run only when the body's failed.
                for handler in &try_stmt.handlers {
                    self.visit_except_handler(handler);
                }
                self.optional -= optional as u32;
                for s in try_stmt.orelse.iter().chain(&try_stmt.finalbody) {
                    self.visit_stmt(s);
                }
            }
            Stmt::If(if_stmt) => {
                // `if TYPE_CHECKING:` bodies never run; their else branches always do.
                let negated = matches!(&*if_stmt.test, Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not && is_type_checking(&u.operand));
                if is_type_checking(&if_stmt.test) {
                    for clause in &if_stmt.elif_else_clauses {
                        if let Some(test) = &clause.test {
                            self.visit_expr(test);
                        }
                        for s in &clause.body {
                            self.visit_stmt(s);
                        }
                    }
                } else if negated {
                    for s in &if_stmt.body {
                        self.visit_stmt(s);
                    }
                } else {
                    walk_stmt(self, stmt);
                }
            }
            Stmt::FunctionDef(def) => {
                if self.nested == 0 && def.name.as_str() == "__getattr__" {
                    self.facts.lazy.module_getattr = Some(Site {
                        line: self.lines.line(def.range.start().to_u32()),
                        text: format!("def {}(...)", def.name),
                    });
                }
                self.nested += 1;
                walk_stmt(self, stmt);
                self.nested -= 1;
            }
            Stmt::ClassDef(_) => {
                self.nested += 1;
                walk_stmt(self, stmt);
                self.nested -= 1;
            }
            Stmt::Assign(assign) if self.nested == 0 => {
                let is_all = assign
                    .targets
                    .iter()
                    .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == "__all__"));
                if is_all {
                    let names = string_elements(&assign.value);
                    if !names.is_empty() || matches!(&*assign.value, Expr::List(_) | Expr::Tuple(_))
                    {
                        self.facts.all_names = Some(names);
                    }
                }
                walk_stmt(self, stmt);
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                self.dynamic_call(call);
                self.data_call(call);
                let name = match &*call.func {
                    Expr::Name(n) => Some(n.id.as_str()),
                    Expr::Attribute(a) => Some(a.attr.as_str()),
                    _ => None,
                };
                if matches!(name, Some("entry_points" | "iter_entry_points"))
                    && self.facts.entry_points_call.is_none()
                {
                    self.facts.entry_points_call = Some(self.site(call.range()));
                }
            }
            Expr::Name(n) if n.id.as_str() == "__file__" => {
                let site = self.site(expr.range());
                self.own_data(site);
            }
            Expr::StringLiteral(literal) => self.name_literal(literal),
            _ => {}
        }
        walk_expr(self, expr);
    }
}

/// The fallback for a file that does not parse: `import x` and `from x import y` lines.
fn scan_lines(source: &str) -> PythonFacts {
    let mut facts = PythonFacts::default();
    for (index, raw) in source.lines().enumerate() {
        let line = raw.trim_start();
        let nested = line.len() != raw.len();
        let site = Site {
            line: index as u32 + 1,
            text: line.trim_end().to_string(),
        };
        let clean = |s: &str| {
            s.split(" as ")
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '(' || c == ')' || c == '\\')
                .to_string()
        };
        if let Some(rest) = line.strip_prefix("import ") {
            for part in rest.split('#').next().unwrap_or("").split(',') {
                let name = clean(part);
                if is_dotted_name(&name) {
                    facts.imports.push(ImportStatement {
                        level: 0,
                        module: Some(name),
                        names: Vec::new(),
                        is_from: false,
                        site: site.clone(),
                        optional: false,
                        nested,
                    });
                }
            }
        } else if let Some(rest) = line.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else {
                continue;
            };
            let module = module.trim();
            let level = module.chars().take_while(|c| *c == '.').count() as u32;
            let dotted = &module[level as usize..];
            if !dotted.is_empty() && !is_dotted_name(dotted) {
                continue;
            }
            let names: Vec<String> = names
                .split('#')
                .next()
                .unwrap_or("")
                .split(',')
                .map(clean)
                .filter(|n| n == "*" || is_dotted_name(n))
                .collect();
            facts.imports.push(ImportStatement {
                level,
                module: (!dotted.is_empty()).then(|| dotted.to_string()),
                names,
                is_from: true,
                site,
                optional: false,
                nested,
            });
        }
    }
    facts
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            p.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_314(source: &str) -> PythonFacts {
        python_facts(source, PythonVersion::PY314)
    }

    fn modules(facts: &PythonFacts) -> Vec<(String, bool, bool)> {
        facts
            .imports
            .iter()
            .map(|i| {
                let mut name = ".".repeat(i.level as usize);
                name.push_str(i.module.as_deref().unwrap_or(""));
                if i.is_from {
                    name.push(':');
                    name.push_str(&i.names.join(","));
                }
                (name, i.optional, i.nested)
            })
            .collect()
    }

    #[test]
    fn plain_relative_nested_and_optional_imports() {
        let src = "import os, json.decoder as d\nfrom . import sibling\nfrom ..pkg.mod import (a,\n    b)\ntry:\n    import ujson\nexcept ImportError:\n    ujson = None\ndef f():\n    from collections import OrderedDict\n";
        let facts = facts_314(src);
        assert_eq!(
            modules(&facts),
            vec![
                ("os".into(), false, false),
                ("json.decoder".into(), false, false),
                (".:sibling".into(), false, false),
                ("..pkg.mod:a,b".into(), false, false),
                ("ujson".into(), true, false),
                ("collections:OrderedDict".into(), false, true),
            ]
        );
        assert_eq!(facts.imports[3].site.line, 3);
        assert_eq!(facts.imports[3].site.text, "from ..pkg.mod import (a, b)");
    }

    #[test]
    fn type_checking_blocks_add_nothing_but_their_else_does() {
        let src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import numpy\nelse:\n    import array\nif typing.TYPE_CHECKING:\n    import pandas\n";
        let facts = facts_314(src);
        let names: Vec<_> = modules(&facts).into_iter().map(|m| m.0).collect();
        assert_eq!(names, vec!["typing:TYPE_CHECKING", "array"]);
    }

    #[test]
    fn dynamic_imports_literal_relative_and_computed() {
        let src = "import importlib\nm = importlib.import_module('a.b')\nn = importlib.import_module('.c', __name__)\nk = __import__(name)\nq = importlib.import_module(f'x.{y}')\n";
        let facts = facts_314(src);
        let names: Vec<_> = facts
            .dynamic_imports
            .iter()
            .map(|d| (d.name.as_str(), d.relative_to_self))
            .collect();
        assert_eq!(names, vec![("a.b", false), (".c", true)]);
        let lines: Vec<_> = facts.unresolved_dynamic.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![4]);
        assert_eq!(facts.dynamic_families[0].prefix, "x.");
        assert_eq!(facts.unresolved_dynamic[0].text, "__import__(name)");
    }

    #[test]
    fn computed_names_with_a_literal_start_are_families() {
        let src = "import importlib\nm = __import__('encodings.' + modname, fromlist=['x'])\nw = importlib.import_module(f'pkg.writers.{name}')\nl = importlib.import_module('.' + lang, package='docutils.languages')\nr = importlib.import_module('.%s' % x, __name__)\nq = importlib.import_module(name, 'pkg.plugins')\nz = importlib.import_module('_sysconfigdata_{}'.format(x))\nu = __import__(name)\nv = importlib.import_module('x' + y)\n";
        let facts = facts_314(src);
        let families: Vec<_> = facts
            .dynamic_families
            .iter()
            .map(|f| (f.prefix.as_str(), f.relative_to_self, f.site.line))
            .collect();
        assert_eq!(
            families,
            vec![
                ("encodings.", false, 2),
                ("pkg.writers.", false, 3),
                ("docutils.languages.", false, 4),
                ("", true, 5),
                ("pkg.plugins.", false, 6),
                ("_sysconfigdata_", false, 7),
            ]
        );
        let unresolved: Vec<_> = facts.unresolved_dynamic.iter().map(|s| s.line).collect();
        assert_eq!(unresolved, vec![8, 9]);
    }

    #[test]
    fn name_literals_and_data_access() {
        let src = "LEXERS = {'PythonLexer': ('pygments.lexers.python', 'Python'), 'X': ('a.b:load',)}\npackages = ('docutils.languages.', '')\nword = 'hello world.'\nimport os\nHERE = os.path.dirname(__file__)\nfrom importlib import resources\nt = resources.files('tzdata.zoneinfo')\nimport pkgutil\nd = pkgutil.get_data(__name__, 'x.json')\n";
        let facts = facts_314(src);
        let names: Vec<_> = facts
            .name_literals
            .iter()
            .map(|n| (n.name.as_str(), n.prefix))
            .collect();
        assert_eq!(
            names,
            vec![
                ("pygments.lexers.python", false),
                ("a.b", false),
                ("docutils.languages", true),
                ("tzdata.zoneinfo", false),
                // A file name reads like a module name too; it only becomes an edge if the
                // environment has such a module.
                ("x.json", false),
            ]
        );
        assert_eq!(facts.data_access.own.as_ref().map(|s| s.line), Some(5));
        let packages: Vec<_> = facts
            .data_access
            .packages
            .iter()
            .map(|(p, s)| (p.as_str(), s.line))
            .collect();
        assert_eq!(packages, vec![("tzdata.zoneinfo", 7)]);
    }

    #[test]
    fn a_file_nested_deeper_than_cpython_accepts_is_refused_not_a_crash() {
        let src = format!(
            "import json\nx = {}1{}\nfrom . import y\n",
            "[".repeat(300_000),
            "]".repeat(300_000)
        );
        let facts = facts_314(&src);
        let failure = facts.parse_error.expect("refused");
        assert_eq!(failure.line, 2);
        assert!(failure.message.starts_with("too many nested brackets"));
        // The imports still come from the line scan.
        assert_eq!(facts.imports.len(), 2);
    }

    #[test]
    fn python_314_syntax_parses() {
        let src = "try:\n    pass\nexcept ValueError, TypeError:\n    pass\nx = t'hello {name}'\nimport json\n";
        let facts = facts_314(src);
        assert!(facts.parse_error.is_none(), "{:?}", facts.parse_error);
        assert_eq!(facts.imports.len(), 1);
    }

    #[test]
    fn newer_syntax_than_the_target_is_a_failure_with_its_imports() {
        let src = "import json\ntry:\n    pass\nexcept ValueError, TypeError:\n    pass\n";
        let facts = python_facts(src, PythonVersion::PY312);
        let failure = facts.parse_error.expect("3.12 refuses it");
        assert_eq!(failure.line, 4);
        assert!(failure.message.contains("3.12"), "{}", failure.message);
        assert_eq!(facts.imports.len(), 1);
        // Nested quotes in f-strings are 3.12's (PEP 701), t-strings are 3.14's.
        assert!(
            python_facts("x = f\"{'a' + \"b\"}\"\n", PythonVersion::PY312)
                .parse_error
                .is_none()
        );
        assert!(python_facts("x = t'{y}'\n", PythonVersion::PY313)
            .parse_error
            .is_some());
    }

    #[test]
    fn syntax_error_falls_back_to_a_line_scan() {
        let src = "import os\ndef broken(:\n    from .x import y as z\n";
        let facts = facts_314(src);
        let failure = facts.parse_error.clone().expect("a parse error");
        assert_eq!(failure.line, 2);
        let names: Vec<_> = modules(&facts).into_iter().map(|m| m.0).collect();
        assert_eq!(names, vec!["os", ".x:y"]);
    }

    #[test]
    fn lazy_loader_markers_and_all() {
        let src = "import lazy_loader as lazy\n__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)\nx = lazy.attach(__name__, submodules=['io', 'filters'], submod_attrs={'util': ['a']})\n__all__ = ['one', 'two']\ndef __getattr__(name):\n    pass\n";
        let facts = facts_314(src);
        assert_eq!(facts.lazy.attach_stub.as_ref().map(|s| s.line), Some(2));
        assert_eq!(facts.lazy.module_getattr.as_ref().map(|s| s.line), Some(5));
        let subs: Vec<_> = facts
            .lazy
            .attach_submodules
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(subs, vec!["io", "filters", "util"]);
        assert_eq!(facts.all_names, Some(vec!["one".into(), "two".into()]));
    }
}
