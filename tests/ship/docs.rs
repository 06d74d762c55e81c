//! The documentation holds together: every relative link in the README, `docs/` and
//! ARCHITECTURE.md points at a file that exists (and, with a `#fragment`, at a heading of
//! it); the README stays an entrance whose two set-up commands are the ones CI runs; and the
//! module table of ARCHITECTURE.md names modules that exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The pages whose links are checked.
fn pages() -> Vec<PathBuf> {
    let mut out = vec![
        PathBuf::from("README.md"),
        PathBuf::from("ARCHITECTURE.md"),
        PathBuf::from("charts/sagemaker-rollout/README.md"),
    ];
    for e in std::fs::read_dir("docs").expect("docs/") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a markdown file's headings (outside code fences), numbered as GitHub
/// numbers repeated ones.
pub(super) fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let base = slug(line.trim_start_matches('#'));
        let mut name = base.clone();
        let mut n = 0;
        while out.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        out.insert(name);
    }
    out
}

/// The targets of inline links `[text](target)` outside code fences and code spans.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Code spans may show link syntax without being links.
        let plain: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        for (i, _) in plain.match_indices("](") {
            let rest = &plain[i + 2..];
            if let Some(end) = rest.find(')') {
                let target = rest[..end].split_whitespace().next().unwrap_or("");
                out.push(target.to_owned());
            }
        }
    }
    out
}

fn broken_links(page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).expect("read page");
    let dir = page.parent().unwrap_or(Path::new("."));
    let mut broken = Vec::new();
    for target in links(&text) {
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, fragment) = match target.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (target.as_str(), None),
        };
        let path = if file.is_empty() {
            page.to_path_buf()
        } else {
            dir.join(file)
        };
        if !path.exists() {
            broken.push(format!("{}: {target} (no such file)", page.display()));
            continue;
        }
        if let Some(fragment) = fragment
            && path.extension().is_some_and(|x| x == "md")
        {
            let text = std::fs::read_to_string(&path).expect("read target");
            if !anchors(&text).contains(fragment) {
                broken.push(format!("{}: {target} (no such heading)", page.display()));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_in_the_docs_points_at_something() {
    let broken: Vec<String> = pages().iter().flat_map(|p| broken_links(p)).collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The checker itself finds a missing file and a missing heading.
#[test]
fn the_link_check_sees_a_missing_file_and_a_missing_heading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("a.md");
    std::fs::write(dir.path().join("b.md"), "# Real heading\n").expect("write");
    std::fs::write(
        &page,
        "[ok](b.md#real-heading) [gone](c.md) [bad](b.md#nope) `[code](x.md)`\n",
    )
    .expect("write");
    let broken = broken_links(&page);
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("c.md") && broken[1].contains("#nope"));
}

/// The `sh` blocks of the README's set-up section, one command line each.
fn setup_commands(readme: &str) -> Vec<String> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Set-up on a fresh machine"))
        .expect("the README has a \"Set-up on a fresh machine\" section");
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or("").trim().to_owned())
        .collect()
}

#[test]
fn the_readme_is_an_entrance_whose_setup_commands_are_the_ones_ci_runs() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines: it is an entrance; move details into docs/"
    );
    let commands = setup_commands(&readme);
    assert_eq!(
        commands.len(),
        2,
        "two set-up commands (main job, all tests): {commands:?}"
    );
    let main_job = &commands[0];
    let example = main_job
        .split_whitespace()
        .skip_while(|w| *w != "-f")
        .nth(1)
        .expect("the main job names its manifest with -f");
    assert!(
        main_job.starts_with("cargo run") && main_job.contains(" simulate "),
        "the main job runs the simulator: {main_job}"
    );
    assert!(Path::new(example).exists(), "{example} exists");
    let ci = std::fs::read_to_string(".ci/run").expect(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == commands[1]),
        "the README's test command `{}` is the one .ci/run runs",
        commands[1]
    );
    assert!(
        readme.contains("docs/README.md"),
        "the README links the docs index"
    );
}

/// Every page in docs/ is listed in the index.
#[test]
fn the_docs_index_lists_every_page() {
    let index = std::fs::read_to_string("docs/README.md").expect("docs/README.md");
    let missing: Vec<String> = pages()
        .iter()
        .filter(|p| p.starts_with("docs") && !p.ends_with("README.md"))
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|name| !index.contains(&format!("]({name}")))
        .collect();
    assert!(
        missing.is_empty(),
        "pages missing from docs/README.md: {missing:?}"
    );
}

/// The backticked names in the first column of ARCHITECTURE.md's module table, and the
/// `a/b` paths in its rows, name modules under `src/`.
#[test]
fn the_architecture_module_table_names_modules_that_exist() {
    let text = std::fs::read_to_string("ARCHITECTURE.md").expect("ARCHITECTURE.md");
    let exists = |module: &str| {
        let base = Path::new("src").join(module.trim_end_matches('/'));
        base.with_extension("rs").exists() || base.join("mod.rs").exists() || base.is_dir()
    };
    let mut missing = Vec::new();
    let mut rows = 0;
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let mut cells = line.split('|').map(str::trim).filter(|c| !c.is_empty());
        let Some(first) = cells.next() else { continue };
        let top = first
            .trim_matches('`')
            .split_whitespace()
            .next()
            .unwrap_or("");
        let top = top.trim_matches('`');
        if !["lib", "main"].contains(&top) && !exists(top) {
            missing.push(format!("module {top}"));
            continue;
        }
        rows += 1;
        for cell in cells {
            for (i, span) in cell.split('`').enumerate() {
                if i % 2 == 0 || !span.contains('/') || span.contains(' ') || span.contains('.') {
                    continue;
                }
                // `rollout/{begin,advance}` names several.
                let (head, group) = match span.split_once('{') {
                    Some((h, g)) => (h, g.trim_end_matches(['}', '/'])),
                    None => (span, ""),
                };
                let names: Vec<String> = if group.is_empty() {
                    vec![head.to_owned()]
                } else {
                    group
                        .split(',')
                        .map(|g| format!("{head}{}", g.trim()))
                        .collect()
                };
                for name in names {
                    let full = if name.starts_with(&format!("{top}/")) {
                        name.clone()
                    } else {
                        format!("{top}/{name}")
                    };
                    if !exists(&full) {
                        missing.push(format!("{full} (in the row of {top})"));
                    }
                }
            }
        }
    }
    assert!(
        rows >= 10,
        "the module table has a row per top-level module"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what does not exist:\n{}",
        missing.join("\n")
    );
}

/// Every source file the documentation cites (`src/…rs`, with `::name` where it names an
/// item) exists and holds that name: a move or a rename updates the AWS-rules table and the
/// other pages, or this fails.
#[test]
fn every_source_reference_in_the_docs_names_a_file_and_an_item_that_exist() {
    let re = regex::Regex::new(r"`(src/[A-Za-z0-9_/]+\.rs)((?:::[A-Za-z0-9_]+)*)").unwrap();
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("read page");
        for c in re.captures_iter(&text) {
            let (file, items) = (&c[1], &c[2]);
            let Ok(source) = std::fs::read_to_string(file) else {
                broken.push(format!("{}: {file} (no such file)", page.display()));
                continue;
            };
            let Some(last) = items.rsplit("::").next().filter(|s| !s.is_empty()) else {
                continue;
            };
            let word = regex::Regex::new(&format!(r"\b{last}\b")).unwrap();
            if !word.is_match(&source) {
                broken.push(format!(
                    "{}: {file}{items} (no {last} there)",
                    page.display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "stale source references:\n{}",
        broken.join("\n")
    );
}

/// Every `--set key=value` the README and the docs show names a value the chart has, and
/// the install page builds and makes the image pullable before installing the chart.
#[test]
fn the_install_commands_name_chart_values_that_exist_in_order() {
    let values: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string("charts/sagemaker-rollout/values.yaml").expect("values"),
    )
    .expect("values.yaml");
    // `--set k=v`, `--set-string`/`--set-json`, quoted or not, `--set=k=v`.
    let set =
        regex::Regex::new(r#"--set(?:-string|-json)?[\s=]+["']?([A-Za-z0-9_.]+)(\[[0-9]+\])?="#)
            .unwrap();
    let mut missing = Vec::new();
    let mut seen = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        for c in set.captures_iter(&text) {
            seen += 1;
            let key = &c[1];
            let found = key.split('.').try_fold(&values, |v, k| v.get(k)).is_some();
            if !found {
                missing.push(format!("{}: --set {key}", page.display()));
            }
        }
    }
    assert!(seen >= 5, "the docs show chart values");
    assert!(
        missing.is_empty(),
        "values the chart does not have:\n{}",
        missing.join("\n")
    );
    let install = std::fs::read_to_string("docs/install.md").unwrap();
    let at = |s: &str| {
        install
            .find(s)
            .unwrap_or_else(|| panic!("{s} in docs/install.md"))
    };
    assert!(
        at("docker build") < at("helm install"),
        "the image comes first"
    );
    assert!(at("docker push") < at("helm install"));
    assert!(at("helm install") < at("cargo install"), "then the CLI");
    assert!(
        install.contains("--set image.repository="),
        "the chart is given the image"
    );
}
