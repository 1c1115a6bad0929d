//! Dependencies between the library's top-level modules point one way.
//!
//! Reads every non-test source file under `src/`, takes each `crate::<m>`
//! path it uses (also inside `use crate::{a, b::c}` groups; comments are
//! ignored) as an edge from its top-level module to `<m>`, and fails on:
//! - a cycle between top-level modules (e.g. `capi` → `driver` → `capi`);
//! - any module below the C API importing `capi`: the codes and types every
//!   layer reports with live in `api`, the application's hooks in `hooks`,
//!   and `capi` only re-exports them;
//! - `objects` importing the protocol or anything above it.
//!
//! Test code (`tests*.rs`, `sim.rs`, `test_*.rs`, a trailing
//! `#[cfg(test)] mod tests`) may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.starts_with("tests") || name.starts_with("test_") || name == "sim.rs"
}

/// The source without comments and without a trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn ident_at(s: &str) -> String {
    s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

/// Top-level module → the top-level modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if rel == "lib.rs" || is_test_file(&rel) {
            continue;
        }
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        let code = code_of(&std::fs::read_to_string(&f).unwrap());
        let mut refs = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for part in group[..end].split(',') {
                    let m = ident_at(part.trim());
                    if !m.is_empty() {
                        refs.insert(m);
                    }
                }
            } else {
                let m = ident_at(rest);
                if !m.is_empty() {
                    refs.insert(m);
                }
            }
        }
        refs.remove(&top);
        g.entry(top).or_default().extend(refs);
    }
    g
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let g = graph();
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit(n: &str, g: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(cycle) = visit(n, &g, &mut Vec::new(), &mut done) {
            panic!("import cycle between top-level modules: {}\n(all edges: {g:?})", cycle.join(" -> "));
        }
    }
    assert!(g.len() > 10, "too few modules read: {g:?}");
}

#[test]
fn nothing_below_the_c_api_imports_it() {
    let g = graph();
    let users: Vec<_> = g.iter().filter(|(_, deps)| deps.contains("capi")).map(|(m, _)| m.as_str()).collect();
    assert!(users.is_empty(), "modules importing capi (take codes and types from `api`, hooks from `hooks`): {users:?}");
}

/// The objects answer with their own error type (`objects::model::Error`);
/// the device-management interface maps it to CoAP codes. So the object
/// model can be reused and tested without the protocol below it.
#[test]
fn the_objects_know_nothing_of_coap() {
    let g = graph();
    let deps = g.get("objects").expect("objects read");
    for m in ["coap", "engine", "driver", "capi", "observe"] {
        assert!(!deps.contains(m), "objects import {m}: {deps:?}");
    }
}
