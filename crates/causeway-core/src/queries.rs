//! Questions about the causal graph beyond "does a happen before b": everything before or after a
//! task, and the shortest chain of direct causes from one task to another.
//!
//! Tasks are numbered in the order they were created, and a task's causes always exist before it,
//! so task index order is a topological order of the graph: no query needs to compute one.
//! Each query walks the edges once: O(tasks + edges), with the adjacency built per call (queries
//! come from a person browsing a trace, not from a hot path).

use crate::graph::{CausalGraph, Edge};
use crate::ids::TaskIx;

/// Direction of a walk along the edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From a task to the tasks it caused.
    Forward,
    /// From a task to its causes.
    Backward,
}

/// For each task, the indices (into `graph.edges()`) of its edges in `direction`.
fn adjacency(graph: &CausalGraph, direction: Direction) -> Vec<Vec<u32>> {
    let mut adjacent = vec![Vec::new(); graph.task_count()];
    for (i, edge) in graph.edges().iter().enumerate() {
        let from = match direction {
            Direction::Forward => edge.from,
            Direction::Backward => edge.to,
        };
        adjacent[from.index()].push(i as u32);
    }
    adjacent
}

fn across(edge: &Edge, direction: Direction) -> TaskIx {
    match direction {
        Direction::Forward => edge.to,
        Direction::Backward => edge.from,
    }
}

/// Every task that happens before `task` (`Backward`) or after it (`Forward`), in index order
/// (a topological order), without `task` itself.
pub fn reachable(graph: &CausalGraph, task: TaskIx, direction: Direction) -> Vec<TaskIx> {
    let adjacent = adjacency(graph, direction);
    let edges = graph.edges();
    let mut seen = vec![false; graph.task_count()];
    let mut stack = vec![task];
    seen[task.index()] = true;
    while let Some(t) = stack.pop() {
        for &e in &adjacent[t.index()] {
            let next = across(&edges[e as usize], direction);
            if !seen[next.index()] {
                seen[next.index()] = true;
                stack.push(next);
            }
        }
    }
    seen[task.index()] = false;
    (0..graph.task_count() as u32).map(TaskIx).filter(|t| seen[t.index()]).collect()
}

/// The shortest chain of direct causes from `from` to `to` (fewest edges), or `None` when `from`
/// does not happen before `to`. Empty when they are the same task.
pub fn causal_path(graph: &CausalGraph, from: TaskIx, to: TaskIx) -> Option<Vec<Edge>> {
    if from == to {
        return Some(Vec::new());
    }
    // Only tasks after `from` can lie on the path: a breadth-first walk forward, with the edge
    // that first reached each task, then back from `to`.
    let adjacent = adjacency(graph, Direction::Forward);
    let edges = graph.edges();
    let mut reached_by: Vec<Option<u32>> = vec![None; graph.task_count()];
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(t) = queue.pop_front() {
        for &e in &adjacent[t.index()] {
            let next = edges[e as usize].to;
            if next != from && reached_by[next.index()].is_none() {
                reached_by[next.index()] = Some(e);
                if next == to {
                    let mut path = Vec::new();
                    let mut at = to;
                    while at != from {
                        let edge = edges[reached_by[at.index()]? as usize];
                        path.push(edge);
                        at = edge.from;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::EdgeKind;
    use crate::testing::Rng;

    fn random_graph(rng: &mut Rng, size: usize) -> CausalGraph {
        let mut g = CausalGraph::new();
        for i in 0..size {
            let mut causes = Vec::new();
            if i > 0 {
                for _ in 0..rng.below(3) {
                    let cause = TaskIx(rng.below(i as u64) as u32);
                    if !causes.iter().any(|&(c, _)| c == cause) {
                        causes.push((cause, EdgeKind::Await));
                    }
                }
            }
            g.add_task(&causes);
        }
        g
    }

    /// Shortest distance in edges by Floyd–Warshall: the reference for path lengths.
    fn distances(g: &CausalGraph) -> Vec<Vec<Option<u32>>> {
        let n = g.task_count();
        let mut d = vec![vec![None; n]; n];
        for (i, row) in d.iter_mut().enumerate() {
            row[i] = Some(0);
        }
        for e in g.edges() {
            d[e.from.index()][e.to.index()] = Some(1);
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    if let (Some(a), Some(b)) = (d[i][k], d[k][j]) {
                        if d[i][j].is_none_or(|c| a + b < c) {
                            d[i][j] = Some(a + b);
                        }
                    }
                }
            }
        }
        d
    }

    #[test]
    fn ancestors_descendants_and_paths_agree_with_reachability_on_random_dags() {
        let mut rng = Rng::new(0xca05);
        for _ in 0..150 {
            let size = 1 + rng.below(30) as usize;
            let g = random_graph(&mut rng, size);
            let d = distances(&g);
            for a in 0..size as u32 {
                let a = TaskIx(a);
                let after = reachable(&g, a, Direction::Forward);
                let before = reachable(&g, a, Direction::Backward);
                for b in 0..size as u32 {
                    let b = TaskIx(b);
                    assert_eq!(after.contains(&b), g.happens_before(a, b), "{a:?} -> {b:?}");
                    assert_eq!(before.contains(&b), g.happens_before(b, a), "{b:?} -> {a:?}");
                    let path = causal_path(&g, a, b);
                    assert_eq!(
                        path.as_ref().map(|p| p.len() as u32),
                        d[a.index()][b.index()],
                        "{a:?} ~> {b:?}"
                    );
                    if let Some(path) = path {
                        // A chain of the graph's own edges, from a to b.
                        let mut at = a;
                        for edge in &path {
                            assert_eq!(edge.from, at);
                            assert!(g.edges().contains(edge));
                            at = edge.to;
                        }
                        assert_eq!(at, b);
                    }
                }
                assert!(after.windows(2).all(|w| w[0] < w[1]), "index order");
            }
        }
    }
}
