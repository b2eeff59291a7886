//! The module layout keeps its promises: imports among `src/` modules run one way (no cycles),
//! the store knows nothing of vendors, and vendor code reaches only the vendor contract.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_str()
                .unwrap();
            let module = first.trim_end_matches(".rs").to_owned();
            // The crate root and the binary are the wiring, not modules.
            if module == "lib" || module == "main" {
                continue;
            }
            // Unit tests and sibling test files may reach anywhere.
            if rel.file_name().is_some_and(|f| f == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let code = code.as_str();
            let deps = graph.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    group[..group.find('}').unwrap()]
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap().trim())
                        .collect()
                } else {
                    vec![rest
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap()]
                };
                for name in names {
                    if !name.is_empty()
                        && name != module
                        && name.chars().next().unwrap().is_lowercase()
                    {
                        deps.insert(name.to_owned());
                    }
                }
            }
        }
    }
    graph
}

fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|n| n == node) {
        let mut cycle = path[i..].to_vec();
        cycle.push(node.to_owned());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_owned());
    for dep in graph.get(node).into_iter().flatten() {
        if let Some(c) = cycle_from(graph, dep, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(node.to_owned());
    None
}

#[test]
fn no_import_cycle_among_modules() {
    let graph = imports();
    assert!(
        graph.len() >= 8 && graph["config"].contains("vendors"),
        "the import scan found the modules: {graph:?}"
    );
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_store_and_the_renderer_know_no_vendor() {
    let graph = imports();
    for module in ["store", "render", "exposition", "outcome", "redact"] {
        assert!(
            !graph[module].contains("vendors"),
            "{module} imports vendors: {:?}",
            graph[module]
        );
    }
}

/// Files every vendor folder has. `http_json` is declarative: the answer's shape is the account's
/// mapping, so it has no `model.rs` of its own.
const VENDOR_FILES: [&str; 5] = ["mod.rs", "metrics.rs", "client.rs", "model.rs", "tests.rs"];
const DECLARATIVE: [&str; 1] = ["http_json"];

#[test]
fn every_vendor_folder_has_the_same_shape() {
    let vendors = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vendors");
    let mut folders = Vec::new();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&vendors).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        for file in VENDOR_FILES {
            let optional = DECLARATIVE.contains(&name.as_str()) && file == "model.rs";
            if !optional && !dir.join(file).is_file() {
                problems.push(format!("src/vendors/{name}/ has no {file}"));
            }
        }
        // Unit tests live in sibling files: no inline `mod tests {` anywhere in the folder.
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text
                        .lines()
                        .any(|l| l.trim_start().starts_with("mod tests {"))
                    {
                        problems.push(format!(
                            "{} keeps an inline `mod tests {{`",
                            path.strip_prefix(&vendors).unwrap().display()
                        ));
                    }
                }
            }
        }
        folders.push(name);
    }
    assert!(
        folders.len() >= 5,
        "expected the vendor folders under src/vendors, found {folders:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
