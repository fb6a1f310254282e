//! Stage 3 of the pipeline: one dependency graph over the files of the environment.
//!
//! [`index`] names every file as a module; [`build`] turns the facts of the files reached from the
//! roots into typed edges, parsing only what is reached; [`prune`] keeps what the roots reach plus
//! the default rules' data files.
#![warn(unreachable_pub)]

mod build;
mod index;
mod model;
mod prune;
mod rules;
mod tier;
mod why;

#[cfg(test)]
mod tests;

pub use build::{build_graph, facts_store_for, BuildOptions};
pub use index::{ModuleIndex, ModuleName, Resolution};
pub use model::{
    DependencyGraph, EdgeKind, GraphNode, ImportEdge, MissingModule, Reason, Root, RootKind,
    UnresolvedSite,
};
pub use prune::{apply_default_rules, apply_user_rules, prune_from, KeptSet};
pub use rules::{RuleError, RuleGlob, UserRules};
pub use tier::{
    assign_tiers, prune_core, EagerReason, Tier, TierOptions, Tiers, SYNC_COMPILE_LIMIT,
};
pub use why::{
    cut_points, find_target, kept_importers, shortest_chains, ChainLink, Chains, Target,
};

use pyodide_pack_env::{EnvError, Environment, FileRef};
use pyodide_pack_facts::FactsStore;

/// The graph of an environment and what it keeps.
#[derive(Debug)]
pub struct Analysis {
    pub graph: DependencyGraph,
    pub kept: KeptSet,
    /// Eager and lazy among the kept files (all eager until [`assign_tiers`] cuts them).
    pub tiers: Tiers,
}

/// Builds the graph from the roots, prunes it, and applies the default rules (static only).
pub fn analyze(env: &Environment, store: &mut FactsStore) -> Result<Analysis, EnvError> {
    let graph = build_graph(env, store, &BuildOptions::default())?;
    Ok(finish(graph, env, &UserRules::default()))
}

/// The last step of every analysis, after any runtime edges were merged: the user's globs, the
/// default rules for what no import names, and the final prune.
pub fn finish(mut graph: DependencyGraph, env: &Environment, rules: &UserRules) -> Analysis {
    apply_user_rules(&mut graph, env, rules);
    let reached = prune_from(&graph);
    apply_default_rules(&mut graph, env, &reached);
    let kept = prune_from(&graph);
    warn_excluded_libraries(&mut graph, env, &kept);
    let tiers = Tiers::all_eager(&kept);
    Analysis { graph, kept, tiers }
}

/// A kept side module whose `dylink.0` needed library the user excluded cannot be loaded: said
/// once per library, with the modules that need it, so a bundle that then fails is explained.
fn warn_excluded_libraries(graph: &mut DependencyGraph, env: &Environment, kept: &KeptSet) {
    graph.excluded_needed.clear();
    let mut needers: std::collections::BTreeMap<FileRef, Vec<FileRef>> = Default::default();
    for (from, to, edge) in graph.edges() {
        if edge.kind != EdgeKind::DylinkNeeded {
            continue;
        }
        if kept.contains(from) && graph.excluded.contains_key(&to) && !kept.contains(to) {
            needers.entry(to).or_default().push(from);
        }
    }
    for (library, modules) in needers {
        let mut names: Vec<String> = modules.iter().map(|m| env.entry(*m).path.clone()).collect();
        names.sort();
        names.dedup();
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let warning = format!(
            "{} is excluded ({}), but {} kept extension module(s) need it (dylink.0): {}{}; loading them will fail",
            env.display(library),
            graph.excluded[&library],
            names.len(),
            shown.join(", "),
            if names.len() > 3 { ", ..." } else { "" }
        );
        graph.warnings.push(warning.clone());
        graph.excluded_needed.push(warning);
    }
}
