//! Shortest chains from the roots over a record's edges, as `why` finds them in a live graph:
//! a breadth-first search over import edges, then one that may also take family edges, then
//! runtime edges, each pass starting from everything reached before, so a chain prefers imports.
//! Shared by `why --report` and `report.html`.

use std::collections::VecDeque;

use pyodide_pack_graph::EdgeKind;

/// The search's result: for every file, the edge it was first reached by.
pub(crate) struct Chains {
    /// Each edge's source, by edge index.
    from: Vec<usize>,
    predecessor: Vec<Option<usize>>,
    reached: Vec<bool>,
}

impl Chains {
    /// `n` files, the root files, and every edge as (from, to, kind); edges naming a file past
    /// `n` (a damaged record) are ignored.
    pub(crate) fn search(
        n: usize,
        roots: impl IntoIterator<Item = usize>,
        edges: &[(usize, usize, EdgeKind)],
    ) -> Chains {
        let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, (from, to, _)) in edges.iter().enumerate() {
            if *from < n && *to < n {
                out_edges[*from].push(i);
            }
        }
        let rank = |kind: EdgeKind| match kind {
            EdgeKind::Runtime => 2,
            kind if kind.is_family() => 1,
            _ => 0,
        };
        let mut predecessor: Vec<Option<usize>> = vec![None; n];
        let mut reached = vec![false; n];
        let mut order: Vec<usize> = Vec::new();
        let mut ordered = vec![false; n];
        let mut roots: Vec<usize> = roots.into_iter().filter(|f| *f < n).collect();
        roots.dedup();
        for root in &roots {
            reached[*root] = true;
        }
        for pass in 0..3 {
            let mut queue: VecDeque<usize> = if pass == 0 {
                roots.iter().copied().collect()
            } else {
                order.iter().copied().collect()
            };
            while let Some(node) = queue.pop_front() {
                if !ordered[node] {
                    ordered[node] = true;
                    order.push(node);
                }
                for &i in &out_edges[node] {
                    let (_, to, kind) = edges[i];
                    if reached[to] || rank(kind) > pass {
                        continue;
                    }
                    reached[to] = true;
                    predecessor[to] = Some(i);
                    queue.push_back(to);
                }
            }
        }
        Chains {
            from: edges.iter().map(|(from, _, _)| *from).collect(),
            predecessor,
            reached,
        }
    }

    pub(crate) fn reached(&self, file: usize) -> bool {
        self.reached.get(file).copied().unwrap_or(false)
    }

    /// The edge `file` was first reached by.
    pub(crate) fn last_edge(&self, file: usize) -> Option<usize> {
        self.predecessor.get(file).copied().flatten()
    }

    /// The edges from a root to `file`, root first, and the root it starts at.
    pub(crate) fn chain(&self, file: usize) -> (Vec<usize>, usize) {
        let mut links = Vec::new();
        let mut at = file;
        while let Some(i) = self.last_edge(at) {
            links.push(i);
            at = self.from[i];
            if links.len() > self.predecessor.len() {
                break;
            }
        }
        links.reverse();
        (links, at)
    }
}
