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
    ("tenancy", &["api", "tags"]),
    ("plan", &["api", "tags"]),
    ("oncall", &["api"]),
    ("aws", &["api", "plan", "tags", "memo", "tenancy"]),
    ("artifact", &["api", "aws", "tags"]),
    (
        "engine",
        &["api", "plan", "aws", "artifact", "tags", "memo", "tenancy"],
    ),
    (
        "sim",
        &[
            "api", "plan", "aws", "artifact", "engine", "tags", "memo", "tenancy",
        ],
    ),
    (
        "controller",
        &[
            "api", "plan", "aws", "artifact", "engine", "tags", "memo", "tenancy",
        ],
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

/// Every module file under `src/` (lib and binary excluded) by its module path:
/// `plan/rollout/begin.rs` is `["plan", "rollout", "begin"]`, a `mod.rs` is its folder's.
fn module_files() -> BTreeMap<Vec<String>, String> {
    let mut all = Vec::new();
    files(Path::new("src"), &mut all);
    let mut out = BTreeMap::new();
    for path in all {
        let rel = path.strip_prefix("src").expect("under src");
        let mut segs: Vec<String> = rel
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_owned())
            .collect();
        if segs.last().is_some_and(|s| s == "mod") {
            segs.pop();
        }
        if segs == ["lib"] || segs == ["main"] || segs.first().is_some_and(|s| s == "cli") {
            continue;
        }
        out.insert(segs, path.display().to_string());
    }
    out
}

fn ident_at(text: &str, at: usize) -> Option<(String, usize)> {
    let name: String = text[at..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then(|| (name.clone(), at + name.len()))
}

/// The paths written at `at` (a `crate::`, `super::` or `self::`), group braces expanded:
/// `super::{a, b::{c, d}}` gives `super::a`, `super::b::c` and `super::b::d`.
fn paths_at(text: &str, mut at: usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut segs = prefix.to_vec();
    loop {
        at += text[at..].len() - text[at..].trim_start().len();
        if text[at..].starts_with('{') {
            let (mut depth, mut start, mut i) = (0, at + 1, at + 1);
            let bytes = text.as_bytes();
            while i < bytes.len() {
                match bytes[i] {
                    b'{' => depth += 1,
                    b'}' if depth == 0 => break,
                    b'}' => depth -= 1,
                    b',' if depth == 0 => {
                        paths_at(&text[..i], start, &segs, out);
                        start = i + 1;
                    }
                    _ => {}
                }
                i += 1;
            }
            if !text[start..i].trim().is_empty() {
                paths_at(&text[..i], start, &segs, out);
            }
            return;
        }
        let Some((name, end)) = ident_at(text, at) else {
            break;
        };
        segs.push(name);
        at = end;
        if text[at..].starts_with("::") {
            at += 2;
        } else {
            break;
        }
    }
    out.push(segs);
}

/// The module file a path written in module `from` names: the longest prefix of the
/// resolved path that is a file.
fn resolve(
    from: &[String],
    path: &[String],
    modules: &BTreeMap<Vec<String>, String>,
) -> Option<Vec<String>> {
    let mut cur: Vec<String> = Vec::new();
    for (i, seg) in path.iter().enumerate() {
        match (i, seg.as_str()) {
            (0, "crate") => {}
            (0, "self") => cur = from.to_vec(),
            (0, "super") => {
                cur = from.to_vec();
                cur.pop();
            }
            (_, "super") => {
                cur.pop();
            }
            (_, "self") => {}
            _ => cur.push(seg.clone()),
        }
    }
    (0..=cur.len())
        .rev()
        .map(|n| cur[..n].to_vec())
        .find(|p| modules.contains_key(p))
}

/// File-level edges: which module files each one uses. A module using its own submodules
/// (a parent declaring, re-exporting and driving its children) is the tree, not an edge;
/// every other use is, so two siblings (or cousins) that use each other form a cycle.
fn file_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = module_files();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, file) in &modules {
        let text: String = std::fs::read_to_string(file)
            .expect("read")
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut paths = Vec::new();
        for start in ["crate::", "super::", "self::"] {
            for (i, _) in text.match_indices(start) {
                let before = text[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                paths_at(&text, i, &[], &mut paths);
            }
        }
        for path in paths {
            let Some(to) = resolve(from, &path, &modules) else {
                continue;
            };
            if !to.starts_with(from) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// The strongly connected groups of more than one file (Tarjan's algorithm).
fn cycles(g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a [String], (usize, usize)>,
        stack: Vec<&'a [String]>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a [String]) {
        let n = s.index.len();
        s.index.insert(v, (n, n));
        s.stack.push(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w: &[String] = w;
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.index[w].1.min(s.index[v].1);
                s.index.get_mut(v).expect("visited").1 = low;
            } else if s.stack.contains(&w) {
                let low = s.index[w].0.min(s.index[v].1);
                s.index.get_mut(v).expect("visited").1 = low;
            }
        }
        if s.index[v].0 == s.index[v].1 {
            let at = s.stack.iter().rposition(|x| *x == v).expect("on stack");
            let group: Vec<String> = s.stack.drain(at..).map(|m| m.join("/")).collect();
            if group.len() > 1 {
                s.found.push(group);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_slice()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_two_files_use_each_other() {
    let found = cycles(&file_graph());
    assert!(
        found.is_empty(),
        "files that use each other (move what they share into a file both use):\n{}",
        found
            .iter()
            .map(|g| g.join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The checker itself: a cycle it must see, written as the sources write paths.
#[test]
fn the_file_cycle_check_sees_a_cycle_through_grouped_super_paths() {
    let mut paths = Vec::new();
    paths_at("super::{a::X, b::{c::Y, d}}", 0, &[], &mut paths);
    let want: Vec<Vec<String>> = [
        &["super", "a", "X"][..],
        &["super", "b", "c", "Y"],
        &["super", "b", "d"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(paths, want);
    let v = |s: &str| s.split('/').map(str::to_owned).collect::<Vec<_>>();
    let g: BTreeMap<_, BTreeSet<_>> = [
        (v("p/a"), [v("p/b")].into()),
        (v("p/b"), [v("p/c")].into()),
        (v("p/c"), [v("p/a"), v("q")].into()),
    ]
    .into();
    assert_eq!(cycles(&g).len(), 1);
    assert_eq!(cycles(&g)[0].len(), 3);
}

/// Files stay small enough to read: none over 600 lines but the declarative CRD types.
#[test]
fn no_source_file_is_over_600_lines_but_the_crd_types() {
    let mut all = Vec::new();
    files(Path::new("src"), &mut all);
    let long: Vec<String> = all
        .iter()
        .filter(|p| !p.ends_with("api/spec.rs"))
        .filter_map(|p| {
            let lines = std::fs::read_to_string(p).ok()?.lines().count();
            (lines > 600).then(|| format!("{}: {lines} lines", p.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these where a name helps the reader:\n{}",
        long.join("\n")
    );
}
