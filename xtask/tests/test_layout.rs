//! Every test file is built and run. The crates build their integration tests as one binary each
//! (`autotests = false` and a `[[test]]` root, `tests/main.rs`, that declares each file as a module): a file
//! that no root declares would be neither compiled nor run, without any message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The workspace's member folders: the `members` list of the root Cargo.toml.
fn members(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let list = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("the root Cargo.toml lists its members")
        .0;
    list.split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| root.join(m))
        .collect()
}

/// The `path` of each `[[test]]` table of a manifest.
fn test_roots(manifest: &str) -> Vec<String> {
    let mut roots = Vec::new();
    let mut in_test = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_test = line == "[[test]]";
        } else if in_test && let Some(value) = line.strip_prefix("path") {
            let value = value
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            roots.push(value.to_string());
        }
    }
    roots
}

/// The modules a Rust file declares from files (`mod name;` lines, not inline `mod name { ... }`).
fn declared_modules(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("pub ").unwrap_or(l).strip_prefix("mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// The `.rs` files directly in `dir`.
fn rust_files(dir: &Path) -> BTreeSet<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect()
}

#[test]
fn every_test_file_belongs_to_a_test_binary() {
    let root = xtask::repo_root();
    let mut problems = Vec::new();
    let mut checked = 0;
    for member in members(&root) {
        let manifest = std::fs::read_to_string(member.join("Cargo.toml")).unwrap();
        let roots: Vec<PathBuf> = test_roots(&manifest).iter().map(|r| member.join(r)).collect();
        let autotests = !manifest.contains("autotests = false");
        if !autotests && roots.is_empty() {
            problems.push(format!(
                "{} sets autotests = false but has no [[test]] target",
                member.strip_prefix(&root).unwrap_or(&member).display()
            ));
        }
        // The files to account for: those in each root's folder and, without autotests, those in tests/.
        let mut files: BTreeSet<PathBuf> = roots
            .iter()
            .filter_map(|r| r.parent())
            .flat_map(rust_files)
            .collect();
        if !autotests {
            files.extend(rust_files(&member.join("tests")));
        }
        let mut covered: BTreeSet<PathBuf> = roots.iter().cloned().collect();
        for r in &roots {
            let text = std::fs::read_to_string(r)
                .unwrap_or_else(|e| panic!("the [[test]] root {} cannot be read: {e}", r.display()));
            let dir = r.parent().unwrap();
            covered.extend(
                declared_modules(&text)
                    .iter()
                    .map(|m| dir.join(format!("{m}.rs"))),
            );
        }
        for f in files.difference(&covered) {
            let rel = f.strip_prefix(&root).unwrap_or(f);
            problems.push(format!(
                "{} is in no test binary: declare it (`mod {};`) in one of {:?}, or cargo neither builds nor \
                 runs it",
                rel.display(),
                f.file_stem().unwrap().to_string_lossy(),
                roots
                    .iter()
                    .map(|r| r.strip_prefix(&root).unwrap_or(r).display().to_string())
                    .collect::<Vec<_>>()
            ));
        }
        checked += files.len();
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Not vacuous: the crates' test folders were found and read.
    assert!(checked > 50, "only {checked} test files were found");
}

#[test]
fn the_check_reads_test_roots_and_module_declarations() {
    let manifest = "[package]\nautotests = false\n\n[[test]]\nname = \"integration\"\n\
                    path = \"tests/main.rs\"\n\n[dependencies]\npath = \"x\"\n";
    let roots = test_roots(manifest);
    assert_eq!(roots, ["tests/main.rs"]);
    let declared = declared_modules("//! doc\n\nmod agent;\npub mod common;\nmod inline {\n}\n");
    assert_eq!(
        declared,
        BTreeSet::from(["agent".to_string(), "common".to_string()])
    );
    assert!(!declared.contains("vectors"));
}
