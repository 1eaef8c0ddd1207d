//! Folder upload: hashes as the API guide §4 describes (expected values computed here independently), parallel
//! and block uploads, and a second upload that sends no blob.

use std::path::Path;

use crate::common::*;
use amlops_azureml::upload::{self, UploadOptions};
use serde_json::json;
use sha2::{Digest, Sha256};
use wiremock::matchers::{body_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIG: usize = 10_000;

fn big() -> Vec<u8> {
    (0..BIG).map(|i| (i % 251) as u8).collect()
}

/// proj/ with an .amlignore that wins over .gitignore.
fn fixture(root: &Path) -> std::path::PathBuf {
    let p = root.join("proj");
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::create_dir_all(p.join("data")).unwrap();
    std::fs::create_dir_all(p.join("ignored")).unwrap();
    std::fs::write(p.join("train.py"), "print('hi')\n").unwrap();
    std::fs::write(p.join("src/Model.py"), "x = 1\n").unwrap();
    std::fs::write(p.join("src/a.txt"), "A").unwrap();
    std::fs::write(p.join("data/big.bin"), big()).unwrap();
    std::fs::write(p.join(".amlignore"), "*.log\nignored/\n").unwrap();
    std::fs::write(p.join(".gitignore"), "train.py\n").unwrap();
    std::fs::write(p.join("run.log"), "noise").unwrap();
    std::fs::write(p.join("ignored/x.txt"), "no").unwrap();
    p
}

/// The files that must be uploaded, in the order of lower-cased relative paths, with their bytes.
fn expected_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (".amlignore", b"*.log\nignored/\n".to_vec()),
        (".gitignore", b"train.py\n".to_vec()),
        ("data/big.bin", big()),
        ("src/a.txt", b"A".to_vec()),
        ("src/Model.py", b"x = 1\n".to_vec()),
        ("train.py", b"print('hi')\n".to_vec()),
    ]
}

/// §4(a): sha256(str(count) + per file "#rel#" + str(size) + all bytes).
fn expected_content_hash() -> String {
    let files = expected_files();
    let mut text: Vec<u8> = files.len().to_string().into_bytes();
    for (rel, bytes) in &files {
        text.extend(format!("#{rel}#{}", bytes.len()).into_bytes());
    }
    for (_, bytes) in &files {
        text.extend(bytes);
    }
    hex::encode(Sha256::digest(&text))
}

/// §4(b): seed, then per directory (entries sorted case-insensitively) name + bytes or recursion.
fn expected_object_hash() -> String {
    let mut text: Vec<u8> = b"Initialize for october 2021 AML CLI version".to_vec();
    // Root entries sorted case-insensitively: .amlignore .gitignore data/ (ignored/ skipped) (run.log skipped) src/ train.py
    text.extend(b".amlignore");
    text.extend(b"*.log\nignored/\n");
    text.extend(b".gitignore");
    text.extend(b"train.py\n");
    text.extend(b"data");
    text.extend(b"big.bin");
    text.extend(big());
    text.extend(b"src");
    text.extend(b"a.txt");
    text.extend(b"A");
    text.extend(b"Model.py");
    text.extend(b"x = 1\n");
    text.extend(b"train.py");
    text.extend(b"print('hi')\n");
    hex::encode(Sha256::digest(&text))
}

fn options() -> UploadOptions {
    UploadOptions {
        parallelism: 3,
        single_put_limit: 5_000,
        block_size: 4_096,
    }
}

#[test]
fn hashes_match_the_guide() {
    let dir = tempfile::tempdir().unwrap();
    let p = fixture(dir.path());
    let files = upload::list_files(&p).unwrap();
    let rels: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
    assert_eq!(rels, expected_files().iter().map(|(r, _)| *r).collect::<Vec<_>>());
    assert_eq!(upload::content_hash(&p).unwrap(), expected_content_hash());
    assert_eq!(upload::object_hash(&p).unwrap(), expected_object_hash());
}

#[test]
fn gitignore_applies_without_amlignore() {
    let dir = tempfile::tempdir().unwrap();
    let p = fixture(dir.path());
    std::fs::remove_file(p.join(".amlignore")).unwrap();
    let rels: Vec<_> = upload::list_files(&p)
        .unwrap()
        .into_iter()
        .map(|f| f.relative)
        .collect();
    assert!(!rels.contains(&"train.py".to_string()));
    assert!(rels.contains(&"run.log".to_string()));
}

async fn blob_requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().starts_with("/acct/"))
        .collect()
}

#[tokio::test]
async fn code_upload_then_repeat_sends_no_blob() {
    let dir = tempfile::tempdir().unwrap();
    let p = fixture(dir.path());
    let hash = expected_content_hash();
    let version = &hash[..16];
    let server = MockServer::start().await;
    let uri = server.uri();
    let code_id = format!("{}/codes/mycode/versions/{version}", ws_path());
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/mycode/versions", ws_path())))
        .and(query_param("hash", hash.as_str()))
        .and(query_param("hashVersion", "202208"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/mycode/versions", ws_path())))
        .and(query_param("hash", hash.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": code_id, "properties": {}}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{}/codes/mycode/versions/{version}/startPendingUpload", ws_path())))
        .and(body_json(json!({"pendingUploadType": "TemporaryBlobReference"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blobReferenceForConsumption": {
            "blobUri": format!("{uri}/acct/container"),
            "credential": {"credentialType": "SAS", "sasUri": format!("{uri}/acct/container?sv=1&sig=SIG1")}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("^/acct/container/proj/"))
        .and(query_param("sig", "SIG1"))
        .and(header("x-ms-version", "2023-11-03"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/codes/mycode/versions/{version}", ws_path())))
        .and(body_json(json!({"properties": {
            "codeUri": format!("{uri}/acct/container/proj"),
            "properties": {"hash_sha256": hash, "hash_version": "202208"}
        }})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": code_id, "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let (sink, seen) = recording_sink();
    let c = client_with(
        config(&uri),
        Some(CountingSource::new(std::time::Duration::from_secs(3600))),
        sink,
    );
    let first = c.upload_code("mycode", None, &p, &options()).await.unwrap();
    assert!(!first.reused);
    assert_eq!(first.files_uploaded, 6);
    assert_eq!(first.hash, hash);
    assert_eq!(first.code_id, code_id);
    assert!(seen.lock().unwrap().iter().any(|s| s == "SIG1"));

    let blobs = blob_requests(&server).await;
    // Small files: one Put Blob each, with the file's bytes.
    for (rel, bytes) in expected_files().iter().filter(|(r, _)| *r != "data/big.bin") {
        let r = blobs
            .iter()
            .find(|r| r.url.path() == format!("/acct/container/proj/{rel}"))
            .unwrap_or_else(|| panic!("{rel}"));
        assert_eq!(&r.body, bytes);
        assert_eq!(r.headers.get("x-ms-blob-type").unwrap(), "BlockBlob");
        assert!(r.headers.get("authorization").is_none());
    }
    // The big file: 3 blocks of at most 4096 bytes, then the block list.
    let big_reqs: Vec<_> = blobs
        .iter()
        .filter(|r| r.url.path() == "/acct/container/proj/data/big.bin")
        .collect();
    let blocks: Vec<_> = big_reqs
        .iter()
        .filter(|r| r.url.query().unwrap().contains("comp=block&"))
        .collect();
    assert_eq!(blocks.len(), 3);
    let mut total = 0;
    for b in &blocks {
        total += b.body.len();
    }
    assert_eq!(total, BIG);
    let list = big_reqs
        .iter()
        .find(|r| r.url.query().unwrap().contains("comp=blocklist"))
        .unwrap();
    let xml = String::from_utf8(list.body.clone()).unwrap();
    assert_eq!(xml.matches("<Latest>").count(), 3);
    let sent_before = blobs.len();

    let second = c.upload_code("mycode", None, &p, &options()).await.unwrap();
    assert!(second.reused);
    assert_eq!(second.files_uploaded, 0);
    assert_eq!(second.code_id, code_id);
    assert_eq!(
        blob_requests(&server).await.len(),
        sent_before,
        "the second upload sent no blob"
    );
}

#[tokio::test]
async fn datastore_upload_then_repeat_sends_no_blob() {
    let dir = tempfile::tempdir().unwrap();
    let p = fixture(dir.path());
    let hash = expected_object_hash();
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path(format!("{}/datastores", ws_path())))
        .and(query_param("isDefault", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"name": "workspaceblobstore", "properties": {
            "datastoreType": "AzureBlob", "accountName": "acct", "containerName": "c", "endpoint": "core.windows.net",
            "protocol": "https", "isDefault": true, "credentials": {"credentialsType": "AccountKey"},
            "properties": {"blobEndpoint": format!("{uri}/acct")}}}]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "{}/datastores/workspaceblobstore/listSecrets",
            ws_path()
        )))
        .and(body_json(json!({"expirableSecret": true, "expireAfterHours": 1})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"secretsType": "Sas", "sasToken": "?sv=1&sig=SIG2"})),
        )
        .mount(&server)
        .await;
    let first_blob = format!("/acct/c/LocalUpload/{hash}/proj/.amlignore");
    Mock::given(method("HEAD"))
        .and(path(first_blob.as_str()))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path(first_blob.as_str()))
        .respond_with(ResponseTemplate::new(200).insert_header("x-ms-meta-upload_status", "completed"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(first_blob.as_str()))
        .and(query_param("comp", "metadata"))
        .and(header("x-ms-meta-upload_status", "completed"))
        .and(header("x-ms-meta-name", "mymodel"))
        .and(header("x-ms-meta-version", "3"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex(format!("^/acct/c/LocalUpload/{hash}/proj/")))
        .and(query_param("sig", "SIG2"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    // The blob endpoint comes from the datastore's `properties.blobEndpoint` (as the local workspace gives it).
    let cfg = config(&uri);
    let (sink, seen) = recording_sink();
    let c = client_with(
        cfg,
        Some(CountingSource::new(std::time::Duration::from_secs(3600))),
        sink,
    );
    let up = c
        .upload_to_default_datastore(&p, ("mymodel", "3"), &options())
        .await
        .unwrap();
    assert!(!up.reused);
    assert_eq!(up.hash, hash);
    assert_eq!(
        up.uri,
        format!(
            "azureml://subscriptions/{SUB}/resourcegroups/{RG}/workspaces/{WS}/datastores/workspaceblobstore/paths/LocalUpload/{hash}/proj"
        )
    );
    assert!(seen.lock().unwrap().iter().any(|s| s == "SIG2"));
    assert_eq!(
        (up.datastore.as_str(), up.account.as_str(), up.container.as_str()),
        ("workspaceblobstore", "acct", "c")
    );
    assert_eq!(up.path, format!("LocalUpload/{hash}/proj"));
    let puts = blob_requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count();
    assert!(puts >= 6);

    let again = c
        .upload_to_default_datastore(&p, ("mymodel", "3"), &options())
        .await
        .unwrap();
    assert!(again.reused);
    let puts_after = blob_requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count();
    assert_eq!(puts, puts_after, "the second upload sent no blob");
}

#[test]
fn account_key_container_sas() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hmac::Mac;
    let key = STANDARD.encode(b"0123456789abcdef0123456789abcdef");
    let start = time::macros::datetime!(2026-01-02 03:04:05 UTC);
    let expiry = time::macros::datetime!(2026-01-02 05:04:05 UTC);
    let sas = upload::container_sas_from_account_key("acct", "c1", &key, start, expiry, true).unwrap();
    let expected_string = "racwl\n2026-01-02T03:04:05Z\n2026-01-02T05:04:05Z\n/blob/acct/c1\n\n\nhttps\n2022-11-02\nc\n\n\n\n\n\n\n";
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(b"0123456789abcdef0123456789abcdef").unwrap();
    mac.update(expected_string.as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    let pairs: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(sas.as_bytes()).into_owned().collect();
    assert_eq!(pairs["sig"], sig);
    assert_eq!(pairs["sv"], "2022-11-02");
    assert_eq!(pairs["sr"], "c");
    assert_eq!(pairs["sp"], "racwl");
    assert_eq!(pairs["st"], "2026-01-02T03:04:05Z");
    assert_eq!(pairs["se"], "2026-01-02T05:04:05Z");
    assert_eq!(pairs["spr"], "https");
    assert!(upload::container_sas_from_account_key("acct", "c1", "%%%", start, expiry, true).is_err());
}

#[tokio::test]
async fn code_asset_reuses_a_version_and_reads_its_uri() {
    let dir = tempfile::tempdir().unwrap();
    let p = fixture(dir.path());
    let hash = expected_content_hash();
    let server = MockServer::start().await;
    let code_id = format!("{}/codes/mycode/versions/7", ws_path());
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/mycode/versions", ws_path())))
        .and(query_param("hash", hash.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": code_id, "properties": {}}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/mycode/versions/7", ws_path())))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": code_id, "properties": {
                "codeUri": "https://acct.blob.core.windows.net/c/proj",
                "properties": {"hash_sha256": hash, "hash_version": 202208}
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let asset = client(&server.uri())
        .upload_code_asset("mycode", &p, &options())
        .await
        .unwrap();
    assert_eq!(
        asset,
        upload::CodeAsset {
            name: "mycode".into(),
            version: "7".into(),
            code_uri: "https://acct.blob.core.windows.net/c/proj".into(),
            hash,
            reused: true,
            files_uploaded: 0,
        }
    );
    let bad = upload::CodeUpload {
        code_id: "/x/models/m/versions/1".into(),
        hash: String::new(),
        reused: true,
        files_uploaded: 0,
    };
    assert_eq!(bad.name_and_version(), None);
}

/// A component's code folder plus `additional_includes` (a folder and a file), each with its own ignore file.
fn includes_fixture(root: &Path) -> (std::path::PathBuf, Vec<std::path::PathBuf>) {
    for (rel, text) in [
        ("comp/src/train.py", "import utils\n"),
        ("comp/src/.amlignore", "*.log\n"),
        ("comp/src/run.log", "noise"),
        ("shared/utils/helpers.py", "def f(): pass\n"),
        ("shared/utils/sub/Deep.py", "X = 3\n"),
        ("shared/utils/.gitignore", "cache/\n"),
        ("shared/utils/cache/x.pyc", "cached"),
        ("config/settings.json", "{\"a\": 1}"),
    ] {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    (
        root.join("comp/src"),
        vec![root.join("shared/utils"), root.join("config/settings.json")],
    )
}

/// The snapshot the hash describes: code files, the include folder under its name, the include file as itself.
fn expected_snapshot() -> Vec<(&'static str, &'static [u8])> {
    vec![
        (".amlignore", b"*.log\n"),
        ("settings.json", b"{\"a\": 1}"),
        ("train.py", b"import utils\n"),
        ("utils/.gitignore", b"cache/\n"),
        ("utils/helpers.py", b"def f(): pass\n"),
        ("utils/sub/Deep.py", b"X = 3\n"),
    ]
}

#[tokio::test]
async fn code_upload_with_includes_puts_every_file_of_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (code, includes) = includes_fixture(dir.path());
    let expected = expected_snapshot();
    // §4(a) over the assembled snapshot, computed here independently.
    let mut text: Vec<u8> = expected.len().to_string().into_bytes();
    for (rel, bytes) in &expected {
        text.extend(format!("#{rel}#{}", bytes.len()).into_bytes());
    }
    for (_, bytes) in &expected {
        text.extend(*bytes);
    }
    let hash = hex::encode(Sha256::digest(&text));
    assert_eq!(
        upload::content_hash_with_includes(&code, &includes).unwrap(),
        hash
    );
    let version = &hash[..16];
    let server = MockServer::start().await;
    let uri = server.uri();
    let code_id = format!("{}/codes/comp/versions/{version}", ws_path());
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/comp/versions", ws_path())))
        .and(query_param("hash", hash.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{}/codes/comp/versions/{version}/startPendingUpload", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blobReferenceForConsumption": {
            "blobUri": format!("{uri}/acct/container"),
            "credential": {"credentialType": "SAS", "sasUri": format!("{uri}/acct/container?sv=1&sig=SIG3")}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("^/acct/container/code_with_additional_includes/"))
        .and(query_param("sig", "SIG3"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{}/codes/comp/versions/{version}", ws_path())))
        .and(body_json(json!({"properties": {
            "codeUri": format!("{uri}/acct/container/{}", upload::ADDITIONAL_INCLUDES_FOLDER),
            "properties": {"hash_sha256": hash, "hash_version": "202208"}
        }})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": code_id, "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let done = client(&uri)
        .upload_code_with_includes("comp", None, &code, &includes, &options())
        .await
        .unwrap();
    assert_eq!((done.hash.as_str(), done.files_uploaded), (hash.as_str(), 6));
    assert_eq!(done.code_id, code_id);

    let mut put: Vec<(String, Vec<u8>)> = blob_requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| (r.url.path().to_string(), r.body))
        .collect();
    put.sort();
    let mut want: Vec<(String, Vec<u8>)> = expected
        .iter()
        .map(|(rel, bytes)| {
            (
                format!("/acct/container/code_with_additional_includes/{rel}"),
                bytes.to_vec(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(put, want);
}

#[tokio::test]
async fn a_missing_include_fails_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let (code, mut includes) = includes_fixture(dir.path());
    let missing = dir.path().join("shared/nope");
    includes.push(missing.clone());
    let server = MockServer::start().await;
    let e = client(&server.uri())
        .upload_code_with_includes("comp", None, &code, &includes, &options())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("additional include '{}'", missing.display())),
        "{e}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// `code: ./train.py` (no additional includes): as the SDK uploads it, the file is the only blob, at the root of
/// the pending-upload container, and `codeUri` is that container (`{blobUri}/`), so the job's working folder holds
/// `train.py` itself.
#[tokio::test]
async fn single_file_code_lands_at_the_container_root() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("train.py");
    let script = b"print('single')\n";
    std::fs::write(&file, script).unwrap();
    // §4(a) of one file, computed here independently.
    let mut text = format!("1#train.py#{}", script.len()).into_bytes();
    text.extend(script);
    let hash = hex::encode(Sha256::digest(&text));
    let version = &hash[..16];
    let server = MockServer::start().await;
    let uri = server.uri();
    let code_id = format!("{}/codes/one/versions/{version}", ws_path());
    Mock::given(method("GET"))
        .and(path(format!("{}/codes/one/versions", ws_path())))
        .and(query_param("hash", hash.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{}/codes/one/versions/{version}/startPendingUpload", ws_path())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blobReferenceForConsumption": {
            "blobUri": format!("{uri}/acct/container"),
            "credential": {"credentialType": "SAS", "sasUri": format!("{uri}/acct/container?sv=1&sig=SIG4")}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("^/acct/container/"))
        .and(query_param("sig", "SIG4"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(code_id.as_str()))
        .and(body_json(json!({"properties": {
            "codeUri": format!("{uri}/acct/container/"),
            "properties": {"hash_sha256": hash, "hash_version": "202208"}
        }})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": code_id, "properties": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let done = client(&uri)
        .upload_code("one", None, &file, &options())
        .await
        .unwrap();
    assert_eq!((done.hash.as_str(), done.files_uploaded), (hash.as_str(), 1));
    assert_eq!(done.code_id, code_id);
    let put: Vec<(String, Vec<u8>)> = blob_requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| (r.url.path().to_string(), r.body))
        .collect();
    assert_eq!(put, [("/acct/container/train.py".to_string(), script.to_vec())]);
    server.verify().await;
}

/// A single code file with additional includes is assembled like a folder (the SDK copies the file into its
/// `code_with_additional_includes` folder): the file under its own name next to the includes.
#[test]
fn a_single_code_file_with_includes_is_a_snapshot_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (_, includes) = includes_fixture(dir.path());
    let file = dir.path().join("run.py");
    std::fs::write(&file, "import utils\n").unwrap();
    let rels: Vec<String> = upload::snapshot_files(&file, &includes)
        .unwrap()
        .into_iter()
        .map(|f| f.relative)
        .collect();
    assert_eq!(
        rels,
        [
            "run.py",
            "settings.json",
            "utils/.gitignore",
            "utils/helpers.py",
            "utils/sub/Deep.py"
        ]
    );
}
