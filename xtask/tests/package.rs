//! Assembling the extension with fake binaries, and checking a .vsix listing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use xtask::package::{self, Binaries, PackageError, Settings};
use xtask::vsix::{self, ExpectedTask};
use xtask::zip;

fn fake_binary(dir: &Path, name: &str, script: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    path
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// Fake binaries for all four tasks on linux-x64, and a Windows one for the gate.
fn fake_binaries(dir: &Path) -> Binaries {
    let mut binaries = Binaries::new();
    for (bin, code) in [
        ("amlops-train", 7),
        ("amlops-register", 0),
        ("amlops-deploy", 0),
        ("amlops-gate", 0),
    ] {
        let file = fake_binary(
            dir,
            bin,
            &format!("echo \"{bin} input=$INPUT_JOBFILE\"; exit {code}"),
        );
        binaries
            .entry(bin.to_string())
            .or_default()
            .insert("linux-x64".into(), file);
    }
    let exe = fake_binary(dir, "gate.exe", "MZ");
    binaries
        .entry("amlops-gate".into())
        .or_default()
        .insert("win32-x64".into(), exe);
    binaries
}

#[test]
fn assembles_every_task_folder_with_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let binaries = fake_binaries(tmp.path());
    let stage = tmp.path().join("stage");
    std::fs::create_dir_all(stage.join("leftover")).unwrap();
    let settings = Settings {
        publisher: Some("contoso-ml".into()),
        version: None,
        glibc_min: Some("2.35".into()),
    };
    let manifests = xtask::manifests_dir();
    let report = package::assemble(&manifests, &stage, &settings, &binaries).unwrap();

    assert!(!stage.join("leftover").exists(), "the stage is emptied first");
    assert!(report.missing.is_empty());
    assert_eq!(report.publisher, "contoso-ml");
    assert_eq!(report.vsix_name(), "contoso-ml.amlops-tasks-1.0.0.vsix");
    let ext = read_json(&stage.join("vss-extension.json"));
    assert_eq!(ext["publisher"], "contoso-ml");
    assert_eq!(ext["version"], "1.0.0");
    assert!(stage.join("overview.md").is_file());
    assert!(stage.join("images/extension-icon.png").is_file());

    for task in xtask::manifest::repo_tasks().unwrap() {
        let out = stage.join("tasks").join(&task.folder);
        assert_eq!(
            std::fs::read(out.join("task.json")).unwrap(),
            std::fs::read(task.dir.join("task.json")).unwrap(),
            "{}: task.json is copied unchanged",
            task.folder
        );
        assert_eq!(
            std::fs::read(out.join("launcher.js")).unwrap(),
            std::fs::read(manifests.join("launcher.js")).unwrap()
        );
        assert_eq!(
            std::fs::read(out.join("icon.png")).unwrap(),
            std::fs::read(task.dir.join("icon.png")).unwrap()
        );
        let launcher = read_json(&out.join("launcher.json"));
        assert_eq!(
            launcher,
            serde_json::json!({"binary": task.binary, "glibcMin": "2.35"})
        );
        let bin = out.join("bin/linux-x64").join(&task.binary);
        assert!(bin.is_file(), "{}", bin.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
    }
    assert!(
        stage
            .join("tasks/AzureMLGateV1/bin/win32-x64/amlops-gate.exe")
            .is_file()
    );
    let gate = report
        .tasks
        .iter()
        .find(|(p, _)| p == "tasks/AzureMLGateV1")
        .unwrap();
    assert_eq!(gate.1, ["linux-x64", "win32-x64"]);
}

#[cfg(unix)]
#[test]
fn an_assembled_task_runs_its_binary_through_the_launcher() {
    let Some(host) = package::host_platform() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = fake_binary(tmp.path(), "train", "echo \"train got $INPUT_JOBFILE\"; exit 7");
    let mut binaries = Binaries::new();
    binaries
        .entry("amlops-train".into())
        .or_default()
        .insert(host, file);
    let stage = tmp.path().join("stage");
    let report = package::assemble(&xtask::manifests_dir(), &stage, &Settings::default(), &binaries).unwrap();
    assert_eq!(
        report.missing.len(),
        3,
        "three tasks have no binary: {:?}",
        report.missing
    );

    let out = Command::new("node")
        .arg(stage.join("tasks/AzureMLTrainV1/launcher.js"))
        .env("INPUT_JOBFILE", "job.yml")
        .output()
        .expect("node runs");
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "train got job.yml");

    let out = Command::new("node")
        .arg(stage.join("tasks/AzureMLGateV1/launcher.js"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("##vso[task.logissue type=error]"), "{stdout}");
    assert!(stdout.contains("amlops-gate"), "{stdout}");
}

#[test]
fn a_version_sets_the_extension_and_the_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let stage = tmp.path().join("stage");
    let settings = Settings {
        version: Some("1.4.27".into()),
        ..Settings::default()
    };
    let report = package::assemble(&xtask::manifests_dir(), &stage, &settings, &Binaries::new()).unwrap();
    assert_eq!(report.version, "1.4.27");
    assert_eq!(report.missing.len(), 4);
    assert_eq!(read_json(&stage.join("vss-extension.json"))["version"], "1.4.27");
    let task = read_json(&stage.join("tasks/AzureMLDeployV1/task.json"));
    assert_eq!(
        task["version"],
        serde_json::json!({"Major": 1, "Minor": 4, "Patch": 27})
    );
    assert_eq!(task["id"], "a9cad536-0348-4215-9cc6-bf36c7fa3dd2");
    let launcher = read_json(&stage.join("tasks/AzureMLDeployV1/launcher.json"));
    assert_eq!(launcher, serde_json::json!({"binary": "amlops-deploy"}));
}

#[test]
fn bad_settings_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let stage = tmp.path().join("stage");
    let manifests = xtask::manifests_dir();
    for (settings, expect) in [
        (
            Settings {
                version: Some("2.0.0".into()),
                ..Settings::default()
            },
            "major version",
        ),
        (
            Settings {
                version: Some("1.0".into()),
                ..Settings::default()
            },
            "expected X.Y.Z",
        ),
        (
            Settings {
                version: Some("1.x.0".into()),
                ..Settings::default()
            },
            "whole number",
        ),
        (
            Settings {
                publisher: Some("bad publisher".into()),
                ..Settings::default()
            },
            "publisher",
        ),
    ] {
        let err = package::assemble(&manifests, &stage, &settings, &Binaries::new()).unwrap_err();
        assert!(matches!(err, PackageError::Setting { .. }), "{err}");
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[test]
fn prebuilt_binaries_are_found_by_platform_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (platform, file) in [
        ("linux-arm64", "amlops-gate"),
        ("linux-x64-musl", "amlops-gate"),
        ("win32-x64", "amlops-gate.exe"),
        ("win32-x64", "amlops-train"), // no .exe: not a Windows binary
        ("darwin-arm64", "amlops-train"),
        ("darwin-x64", "unrelated"),
    ] {
        std::fs::create_dir_all(dir.join(platform)).unwrap();
        std::fs::write(dir.join(platform).join(file), b"bin").unwrap();
    }
    let names = vec!["amlops-train".to_string(), "amlops-gate".to_string()];
    let found = package::find_prebuilt(dir, &names).unwrap();
    let platforms = |b: &str| {
        found
            .get(b)
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(
        platforms("amlops-gate"),
        ["linux-arm64", "linux-x64-musl", "win32-x64"]
    );
    assert_eq!(platforms("amlops-train"), ["darwin-arm64"]);
    assert_eq!(
        found["amlops-gate"]["win32-x64"],
        dir.join("win32-x64/amlops-gate.exe")
    );

    std::fs::create_dir_all(dir.join("solaris-sparc")).unwrap();
    let err = package::find_prebuilt(dir, &names).unwrap_err();
    assert!(err.to_string().contains("solaris-sparc"), "{err}");
    assert!(
        package::find_prebuilt(&dir.join("absent"), &names)
            .unwrap_err()
            .to_string()
            .contains("absent")
    );
}

/// The stage as a zip listing, as tfx lays it out (files at their stage paths, plus its own manifest).
fn stage_as_zip(stage: &Path) -> Vec<u8> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = vec![(
        "extension.vsixmanifest".to_string(),
        b"<PackageManifest/>".to_vec(),
    )];
    walk(stage, stage, &mut files);
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    zip::write_stored(&refs)
}

#[test]
fn the_vsix_check_finds_every_task_and_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let binaries = fake_binaries(tmp.path());
    let stage = tmp.path().join("stage");
    package::assemble(&xtask::manifests_dir(), &stage, &Settings::default(), &binaries).unwrap();
    let expected = package::expected_tasks(&xtask::manifests_dir()).unwrap();
    assert_eq!(expected.len(), 4);
    assert!(expected.contains(&ExpectedTask {
        path: "tasks/AzureMLTrainV1".into(),
        binary: "amlops-train".into()
    }));

    let file = tmp.path().join("ext.vsix");
    std::fs::write(&file, stage_as_zip(&stage)).unwrap();
    let linux = vec!["linux-x64".to_string()];
    let report = vsix::check_file(&file, &expected, &linux).unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(report.tasks.len(), 4);
    let gate = report
        .tasks
        .iter()
        .find(|t| t.path == "tasks/AzureMLGateV1")
        .unwrap();
    assert_eq!(
        gate.binaries.keys().collect::<Vec<_>>(),
        ["linux-x64", "win32-x64"]
    );
    assert!(gate.files.contains_key("task.json") && gate.files.contains_key("icon.png"));

    // A required platform that is not there.
    let report = vsix::check_file(&file, &expected, &["darwin-arm64".to_string()]).unwrap();
    assert_eq!(report.problems.len(), 4, "{:#?}", report.problems);
    assert!(report.problems[0].contains("no amlops-") && report.problems[0].contains("darwin-arm64"));

    // A file missing from one task, and an unexpected binary.
    let entries: Vec<zip::ZipEntry> = zip::list(&std::fs::read(&file).unwrap())
        .unwrap()
        .into_iter()
        .filter(|e| e.name != "tasks/AzureMLRegisterV1/launcher.js")
        .chain([zip::ZipEntry {
            name: "tasks/AzureMLTrainV1/bin/linux-x64/other".into(),
            compressed_size: 1,
            size: 1,
        }])
        .collect();
    let report = vsix::check_entries(entries, &expected, &linux);
    assert_eq!(
        report.problems,
        [
            "tasks/AzureMLTrainV1: unexpected file bin/linux-x64/other",
            "tasks/AzureMLRegisterV1: launcher.js is missing",
        ]
    );

    // Not a zip at all.
    std::fs::write(&file, b"not a zip").unwrap();
    assert!(
        vsix::check_file(&file, &expected, &linux)
            .unwrap_err()
            .contains("not a zip")
    );
}
