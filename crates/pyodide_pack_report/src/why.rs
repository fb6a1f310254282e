//! The `why` answer: a record (schema `pyodide-pack/why-1`) and its text.

use pyodide_pack_env::{Environment, FileRef};
use pyodide_pack_graph::{
    cut_points, kept_importers, Analysis, ChainLink, Chains, EagerReason, EdgeKind, RootKind,
    Target, Tier,
};
use serde::Serialize;

use crate::record::FileIds;

pub const WHY_SCHEMA: &str = "pyodide-pack/why-1";

#[derive(Debug, Serialize)]
pub struct LinkRecord {
    pub from: usize,
    pub from_path: String,
    pub to: usize,
    pub to_path: String,
    pub kind: EdgeKind,
    pub name: String,
    pub optional: bool,
    pub nested: bool,
    pub line: Option<u32>,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct RootOfChain {
    pub file: usize,
    pub path: String,
    pub kind: RootKind,
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct ImporterRecord {
    pub edge: LinkRecord,
    /// The importer's own shortest chain from a root.
    pub chain: Vec<LinkRecord>,
    pub root: Option<RootOfChain>,
}

#[derive(Debug, Serialize)]
pub struct CutPoint {
    pub file: usize,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct WhyRecord {
    pub schema: &'static str,
    pub entry: String,
    pub target: String,
    /// For a package target: how many of its files are kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageCount>,
    /// The file the answer is about (for a package: its kept file nearest a root).
    pub file: usize,
    pub path: String,
    pub install_path: String,
    pub kept: bool,
    /// Why not, when not kept.
    pub not_kept_because: Option<String>,
    pub root: Option<RootOfChain>,
    pub chain: Vec<LinkRecord>,
    /// For a kept file: its tier and what put it there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierAnswer>,
    /// With `--all`: every kept importer with its own chain.
    pub importers: Vec<ImporterRecord>,
    /// Drop any of these and the target drops too (nearest the roots first). Not computed for an
    /// answer from a pack's record.
    pub cut_points: Vec<CutPoint>,
    /// The pack record the answer comes from (`--report`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_report: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TierAnswer {
    pub tier: Tier,
    /// Why: the eager reason, or for a lazy file the family edge on its chain.
    pub because: String,
}

#[derive(Debug, Serialize)]
pub struct PackageCount {
    pub files: usize,
    pub kept_files: usize,
}

struct Ctx<'a> {
    env: &'a Environment,
    analysis: &'a Analysis,
    chains: &'a Chains,
    ids: FileIds,
}

impl Ctx<'_> {
    fn link(&self, link: &ChainLink<'_>) -> LinkRecord {
        LinkRecord {
            from: self.ids.id(link.from),
            from_path: self.env.display(link.from),
            to: self.ids.id(link.to),
            to_path: self.env.display(link.to),
            kind: link.edge.kind,
            name: link.edge.name.clone(),
            optional: link.edge.optional,
            nested: link.edge.nested,
            line: link.edge.reason.line,
            text: link.edge.reason.text.clone(),
        }
    }

    fn root_of(&self, file: FileRef, chain: &[ChainLink<'_>]) -> Option<RootOfChain> {
        let start = chain.first().map(|l| l.from).unwrap_or(file);
        let root = self.analysis.graph.roots.iter().find(|r| r.file == start)?;
        Some(RootOfChain {
            file: self.ids.id(root.file),
            path: self.env.display(root.file),
            kind: root.kind,
            why: root.why.clone(),
        })
    }

    fn chain(&self, file: FileRef) -> (Vec<LinkRecord>, Option<RootOfChain>) {
        match self.chains.chain_to(&self.analysis.graph, file) {
            Some(links) => (
                links.iter().map(|l| self.link(l)).collect(),
                self.root_of(file, &links),
            ),
            None => (Vec::new(), None),
        }
    }
}

impl WhyRecord {
    pub fn new(
        env: &Environment,
        analysis: &Analysis,
        chains: &Chains,
        target_text: &str,
        target: &Target,
        all: bool,
    ) -> WhyRecord {
        let ctx = Ctx {
            env,
            analysis,
            chains,
            ids: FileIds::new(env),
        };
        let graph = &analysis.graph;
        let (file, package) = match target {
            Target::File(f) => (*f, None),
            Target::Package { files, .. } => {
                let kept: Vec<FileRef> = files
                    .iter()
                    .copied()
                    .filter(|f| analysis.kept.contains(*f))
                    .collect();
                let nearest = kept
                    .iter()
                    .copied()
                    .min_by_key(|f| {
                        (
                            chains
                                .chain_to(graph, *f)
                                .map(|c| c.len())
                                .unwrap_or(usize::MAX),
                            *f,
                        )
                    })
                    .unwrap_or(files[0]);
                (
                    nearest,
                    Some(PackageCount {
                        files: files.len(),
                        kept_files: kept.len(),
                    }),
                )
            }
        };
        let kept = analysis.kept.contains(file);
        let not_kept_because = if kept {
            None
        } else if let Some(glob) = graph.excluded.get(&file) {
            // `exclude glob "..." (source)` or `--stdlib-from-trace (...)`.
            Some(format!("dropped by {glob}"))
        } else if graph.frozen_sources.contains(&file) {
            Some("frozen into the interpreter: its compiled-in code runs, the source is never shipped".into())
        } else if env.entry(file).kind == pyodide_pack_env::FileKind::Bytecode {
            Some("byte-code is never kept".into())
        } else if env.entry(file).kind == pyodide_pack_env::FileKind::Data
            && graph.edges().any(|(_, _, e)| e.kind == EdgeKind::Runtime)
        {
            Some("a data file no traced run opened (with a trace, only opened data files are kept; --include GLOB keeps it)".into())
        } else if chains.is_reached(graph, file) {
            Some("only files that are dropped reach it (an exclude glob cut the chain)".into())
        } else {
            Some("nothing reaches it from the entry script or the boot set".into())
        };
        let (chain, root) = if kept {
            ctx.chain(file)
        } else {
            (Vec::new(), None)
        };
        let importers = if all && kept {
            kept_importers(graph, &analysis.kept, file)
                .iter()
                .map(|link| {
                    let (chain, root) = ctx.chain(link.from);
                    ImporterRecord {
                        edge: ctx.link(link),
                        chain,
                        root,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let roots: Vec<FileRef> = graph.roots.iter().map(|r| r.file).collect();
        let cut_points = if kept {
            cut_points(graph, file)
                .into_iter()
                .filter(|f| !roots.contains(f))
                .map(|f| CutPoint {
                    file: ctx.ids.id(f),
                    path: env.display(f),
                })
                .collect()
        } else {
            Vec::new()
        };
        let tier = (kept && analysis.tiers.lazy_enabled).then(|| {
            let tier = analysis.tiers.tier(file);
            let because = match analysis.tiers.eager_reason(file) {
                Some(reason) => describe_eager(reason),
                None => describe_lazy(&chain),
            };
            TierAnswer { tier, because }
        });
        let entry = env.entry(file);
        // A lazy stdlib module is not in the zip: it lives in the lazy stdlib folder.
        let install_path = match tier.as_ref().map(|t| t.tier) {
            Some(Tier::Lazy) if env.archive(file).kind == pyodide_pack_env::ArchiveKind::Stdlib => {
                format!("/lib/python{}/{}", env.runtime.python_minor(), entry.path)
            }
            _ => entry.install_path.clone(),
        };
        WhyRecord {
            schema: WHY_SCHEMA,
            entry: env.display(env.entry),
            target: target_text.to_string(),
            package,
            file: ctx.ids.id(file),
            path: env.display(file),
            install_path,
            kept,
            not_kept_because,
            root,
            chain,
            tier,
            importers,
            cut_points,
            from_report: None,
        }
    }
}

/// What made a lazy file available: the family edge on its chain.
pub(crate) fn describe_lazy(chain: &[LinkRecord]) -> String {
    match chain.iter().find(|l| l.kind.is_family()) {
        Some(l) => format!(
            "{} from {}{}: {}",
            l.kind,
            l.from_path,
            l.line.map(|n| format!(":{n}")).unwrap_or_default(),
            l.text
        ),
        None => "no traced run touched it; static analysis keeps it available".into(),
    }
}

pub(crate) fn describe_eager(reason: &EagerReason) -> String {
    match reason {
        EagerReason::Touched => "a traced run touched it".into(),
        EagerReason::Boot => "the interpreter or Pyodide imports it while booting".into(),
        EagerReason::PackageOf => "a package whose module a traced run touched".into(),
        EagerReason::EagerGlob(glob) => format!("eager glob {glob}"),
        EagerReason::LargeExtension => {
            "a .so over the browser's 8 MiB synchronous-compile limit: preloaded".into()
        }
        EagerReason::Static => {
            "imports reach it (without a trace, what imports reach is eager)".into()
        }
        EagerReason::NoLazy => "--no-lazy".into(),
        EagerReason::StdlibFromTrace => "--stdlib-from-trace keeps the stdlib eager".into(),
    }
}

fn render_link(out: &mut String, link: &LinkRecord, indent: &str) {
    let line = link.line.map(|l| format!(":{l}")).unwrap_or_default();
    let mut flags = vec![link.kind.as_str()];
    if link.optional {
        flags.push("optional");
    }
    if link.nested {
        flags.push("nested");
    }
    out.push_str(&format!(
        "{indent}{}{line}: {}  [{}] -> {}\n",
        link.from_path,
        link.text,
        flags.join(", "),
        link.to_path
    ));
}

fn render_root(out: &mut String, root: &Option<RootOfChain>, indent: &str) {
    if let Some(root) = root {
        let kind = match root.kind {
            RootKind::Entry => "entry",
            RootKind::Boot => "boot set",
        };
        out.push_str(&format!(
            "{indent}root: {} ({kind}: {})\n",
            root.path, root.why
        ));
    }
}

pub fn render_why(record: &WhyRecord) -> String {
    let mut out = String::new();
    if let Some(p) = &record.package {
        out.push_str(&format!(
            "package {}: {} of {} files kept\n",
            record.target, p.kept_files, p.files
        ));
    }
    if !record.kept {
        out.push_str(&format!(
            "{} is in the environment but not kept: {}\n",
            record.path,
            record.not_kept_because.as_deref().unwrap_or("")
        ));
        return out;
    }
    out.push_str(&format!(
        "{} is kept ({})\n",
        record.path, record.install_path
    ));
    if let Some(tier) = &record.tier {
        let what = match tier.tier {
            Tier::Eager => "eager (downloaded up front)",
            Tier::Lazy => "lazy (fetched on first read)",
        };
        out.push_str(&format!("{what}: {}\n", tier.because));
    }
    render_root(&mut out, &record.root, "");
    if record.chain.is_empty() {
        out.push_str("  it is a root itself\n");
    }
    for link in &record.chain {
        render_link(&mut out, link, "  ");
    }
    if !record.importers.is_empty() {
        out.push_str(&format!("\nkept importers ({}):\n", record.importers.len()));
        for importer in &record.importers {
            render_link(&mut out, &importer.edge, "  ");
            render_root(&mut out, &importer.root, "      ");
            for link in &importer.chain {
                render_link(&mut out, link, "      ");
            }
        }
    }
    if let Some(report) = &record.from_report {
        out.push_str(&format!("\n(answered from {report})\n"));
    } else if record.cut_points.is_empty() {
        out.push_str("\nno single file's removal would drop it (several roads lead there)\n");
    } else {
        out.push_str("\ndropping any one of these would drop it too:\n");
        for c in &record.cut_points {
            out.push_str(&format!("  {}\n", c.path));
        }
    }
    out
}
