//! The module graph has no cycles and follows the layers ARCHITECTURE.md draws: each
//! top-level module may use only the modules listed for it. Read from the sources, so a new
//! `use crate::…` that crosses a layer fails here with the file that did it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which top-level modules each one may use (besides itself).
const ALLOWED: &[(&str, &[&str])] = &[
    ("tags", &[]),
    ("memo", &[]),
    ("api", &["tags"]),
    ("plan", &["api", "tags"]),
    ("oncall", &["api"]),
    ("aws", &["api", "plan", "tags", "memo"]),
    ("artifact", &["api", "aws", "tags"]),
    (
        "engine",
        &["api", "plan", "aws", "artifact", "tags", "memo"],
    ),
    (
        "sim",
        &["api", "plan", "aws", "artifact", "engine", "tags", "memo"],
    ),
    (
        "controller",
        &["api", "plan", "aws", "artifact", "engine", "tags", "memo"],
    ),
];

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Top-level modules a source file refers to through `crate::`.
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all = Vec::new();
    files(Path::new("src"), &mut all);
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for path in all {
        let rel = path.strip_prefix("src").expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_owned())
            .expect("top module");
        if ["lib", "main", "cli"].contains(&top.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        for used in uses(&text) {
            if used != top {
                edges
                    .entry(top.clone())
                    .or_default()
                    .entry(used)
                    .or_insert_with(|| path.display().to_string());
            }
        }
    }
    edges
}

#[test]
fn each_module_uses_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, tos) in graph() {
        let ok = allowed
            .get(from.as_str())
            .unwrap_or_else(|| panic!("module {from} is not in the layer table"));
        for (to, file) in tos {
            if !ok.contains(&to.as_str()) {
                wrong.push(format!("{file}: {from} uses {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
}

#[test]
fn the_module_graph_has_no_cycles() {
    let g = graph();
    // Kahn's algorithm: a graph is acyclic when every node can be peeled off.
    let mut indegree: BTreeMap<&str, usize> = BTreeMap::new();
    for (from, tos) in &g {
        indegree.entry(from).or_default();
        for to in tos.keys() {
            *indegree.entry(to).or_default() += 1;
        }
    }
    let mut ready: Vec<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| *n)
        .collect();
    let mut seen = 0;
    while let Some(n) = ready.pop() {
        seen += 1;
        for to in g
            .get(n)
            .map(|t| t.keys().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let d = indegree.get_mut(to.as_str()).expect("node");
            *d -= 1;
            if *d == 0 {
                ready.push(to);
            }
        }
    }
    assert_eq!(seen, indegree.len(), "a cycle among {g:#?}");
}
