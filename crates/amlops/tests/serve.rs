//! `amlops local serve`, the real binary (an integration test of this package, so that `cargo test` builds it): it prints its token on a line of its own, writes it to `<state>/token`
//! readable by its user only, answers 401 without it and 421 to a foreign Host.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use amlops_testkit::send_sigint;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_serve_prints_its_token_and_refuses_requests_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_amlops"))
        .args(["local", "serve", "--state"])
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    let token_line = lines.next().unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let token = token_line
        .strip_prefix("token: ")
        .unwrap_or_else(|| panic!("second line: {token_line}"))
        .to_owned();
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    let file = state.join("token");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    let ws = format!(
        "{url}/subscriptions/{}/resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/local?api-version=2026-07-01",
        amlops_local::DEFAULT_SUBSCRIPTION
    );
    let http = reqwest::Client::new();
    let without = http.get(&ws).send().await.unwrap();
    assert_eq!(without.status().as_u16(), 401);
    let wrong = http.get(&ws).bearer_auth("0".repeat(64)).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let with = http.get(&ws).bearer_auth(&token).send().await.unwrap();
    assert_eq!(with.status().as_u16(), 200);
    let port = url.rsplit(':').next().unwrap();
    let rebound = http
        .get(&ws)
        .bearer_auth(&token)
        .header("host", format!("rebind.invalid:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 421);

    send_sigint(&child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    // The rest of what it printed never repeats the token.
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().all(|l| !l.contains(&token)), "{rest:?}");
}
