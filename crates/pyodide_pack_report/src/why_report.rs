//! `why --report OUTDIR/report.json`: the answer from a pack's record, without the environment.
//! The record holds every file with its tier and every edge with its reason, so the chain, the
//! tier and the edge that put a file in it are what the pack decided, traces and globs included.

use pyodide_pack_graph::{EdgeKind, RootKind, Tier};
use serde::Deserialize;

use crate::chains::Chains;
use crate::why::{
    describe_eager, describe_lazy, LinkRecord, RootOfChain, TierAnswer, WhyRecord, WHY_SCHEMA,
};

#[derive(Deserialize)]
struct PackRecord {
    analysis: AnalysisRecord,
    pack: PackPart,
}

#[derive(Deserialize)]
struct PackPart {
    #[serde(default)]
    lazy_files: Vec<LazyRow>,
}

#[derive(Deserialize)]
struct LazyRow {
    install_path: String,
}

#[derive(Deserialize)]
struct AnalysisRecord {
    entry: String,
    archives: Vec<ArchiveRow>,
    files: Vec<FileRow>,
    roots: Vec<RootRow>,
    edges: Vec<EdgeRow>,
}

#[derive(Deserialize)]
struct ArchiveRow {
    name: String,
    kind: String,
}

#[derive(Deserialize)]
struct FileRow {
    archive: usize,
    path: String,
    install_path: String,
    #[serde(default)]
    module: Option<String>,
    kept: bool,
    #[serde(default)]
    tier: Option<Tier>,
    #[serde(default)]
    eager_reason: Option<pyodide_pack_graph::EagerReason>,
    #[serde(default)]
    excluded_by: Option<String>,
}

#[derive(Deserialize)]
struct RootRow {
    file: usize,
    path: String,
    kind: RootKind,
    why: String,
}

#[derive(Deserialize)]
struct EdgeRow {
    from: usize,
    to: usize,
    kind: EdgeKind,
    name: String,
    optional: bool,
    nested: bool,
    reason: ReasonRow,
}

#[derive(Deserialize)]
struct ReasonRow {
    line: Option<u32>,
    text: String,
}

/// Every index the record holds names something it has: a report edited or damaged by hand is
/// refused here, once, instead of being trusted by every lookup below.
fn check_indices(a: &AnalysisRecord) -> Result<(), String> {
    let (files, archives) = (a.files.len(), a.archives.len());
    if let Some((i, f)) = a
        .files
        .iter()
        .enumerate()
        .find(|(_, f)| f.archive >= archives)
    {
        return Err(format!(
            "file #{i} names archive #{}, but there are {archives}",
            f.archive
        ));
    }
    if let Some(r) = a.roots.iter().find(|r| r.file >= files) {
        return Err(format!(
            "a root names file #{}, but there are {files}",
            r.file
        ));
    }
    if let Some((i, e)) = a
        .edges
        .iter()
        .enumerate()
        .find(|(_, e)| e.from >= files || e.to >= files)
    {
        return Err(format!(
            "edge #{i} links file #{} to #{}, but there are {files}",
            e.from, e.to
        ));
    }
    Ok(())
}

/// Why `target` (a module, or a path inside its archive, or an install path) is in the pack that
/// wrote `report` (the bytes of its `report.json`).
pub fn why_from_report(
    report: &[u8],
    report_name: &str,
    target: &str,
    all: bool,
) -> Result<WhyRecord, String> {
    let record: PackRecord =
        serde_json::from_slice(report).map_err(|e| format!("not a pack report: {e}"))?;
    let a = &record.analysis;
    check_indices(a).map_err(|problem| format!("not a pack report: {problem}"))?;
    let display = |id: usize| {
        let file = &a.files[id];
        let archive = &a.archives[file.archive];
        if archive.kind == "app" {
            file.path.clone()
        } else {
            format!("{}:{}", archive.name, file.path)
        }
    };
    let file = a
        .files
        .iter()
        .position(|f| f.module.as_deref() == Some(target))
        .or_else(|| {
            a.files
                .iter()
                .position(|f| f.path == target || f.install_path == target)
        })
        .ok_or_else(|| format!("{target:?} is not a module or path of the packed environment"))?;

    // Shortest chains as `why` finds them: imports first, then families, then runs.
    let n = a.files.len();
    let edges: Vec<(usize, usize, EdgeKind)> =
        a.edges.iter().map(|e| (e.from, e.to, e.kind)).collect();
    let chains = Chains::search(n, a.roots.iter().map(|r| r.file), &edges);
    let link = |i: usize| {
        let e = &a.edges[i];
        LinkRecord {
            from: e.from,
            from_path: display(e.from),
            to: e.to,
            to_path: display(e.to),
            kind: e.kind,
            name: e.name.clone(),
            optional: e.optional,
            nested: e.nested,
            line: e.reason.line,
            text: e.reason.text.clone(),
        }
    };
    let chain_to = |target: usize| -> (Vec<LinkRecord>, Option<RootOfChain>) {
        let (edges, at) = chains.chain(target);
        let links: Vec<LinkRecord> = edges.into_iter().map(link).collect();
        let root = a.roots.iter().find(|r| r.file == at).map(|r| RootOfChain {
            file: r.file,
            path: r.path.clone(),
            kind: r.kind,
            why: r.why.clone(),
        });
        (links, root)
    };
    let row = &a.files[file];
    let (chain, root) = if row.kept {
        chain_to(file)
    } else {
        (Vec::new(), None)
    };
    let tier = row.tier.map(|tier| TierAnswer {
        tier,
        because: match &row.eager_reason {
            Some(reason) if tier == Tier::Eager => describe_eager(reason),
            _ => describe_lazy(&chain),
        },
    });
    let importers = if all && row.kept {
        let mut seen = std::collections::HashSet::new();
        let mut incoming: Vec<usize> = (0..a.edges.len())
            .filter(|i| a.edges[*i].to == file && a.files[a.edges[*i].from].kept)
            .collect();
        incoming.sort_by_key(|i| {
            let e = &a.edges[*i];
            (e.from, e.kind.is_family(), e.reason.line)
        });
        incoming
            .into_iter()
            .filter(|i| seen.insert(a.edges[*i].from))
            .map(|i| {
                let (chain, root) = chain_to(a.edges[i].from);
                crate::why::ImporterRecord {
                    edge: link(i),
                    chain,
                    root,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // Where the pack put it: a lazy stdlib module is not in the zip but in the lazy folder.
    let install_path = if row.tier == Some(Tier::Lazy) && a.archives[row.archive].kind == "stdlib" {
        let suffix = format!("/{}", row.path);
        // (As `.pyc` when the pack compiled it.)
        let compiled = format!("{suffix}c");
        record
            .pack
            .lazy_files
            .iter()
            .find(|l| l.install_path.ends_with(&suffix) || l.install_path.ends_with(&compiled))
            .map(|l| l.install_path.clone())
            .unwrap_or_else(|| row.install_path.clone())
    } else {
        row.install_path.clone()
    };
    Ok(WhyRecord {
        schema: WHY_SCHEMA,
        entry: a.entry.clone(),
        target: target.to_string(),
        package: None,
        file,
        path: display(file),
        install_path,
        kept: row.kept,
        not_kept_because: (!row.kept).then(|| match &row.excluded_by {
            Some(glob) => format!("dropped by {glob}"),
            None => "the pack did not keep it (nothing it kept reaches it)".to_string(),
        }),
        root,
        chain,
        tier,
        importers,
        cut_points: Vec::new(),
        from_report: Some(report_name.to_string()),
    })
}
