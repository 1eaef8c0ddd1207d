//! Helpers shared by the local workspace tests: an in-process server on 127.0.0.1 and a reqwest client.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use amlops_local::{LocalConfig, LocalWorkspace, Timing};
use serde_json::{Value, json};

pub const API: &str = "api-version=2026-07-01";

pub struct T {
    pub ws: LocalWorkspace,
    /// Sends the workspace's token with every request.
    pub http: reqwest::Client,
    /// Sends no token.
    pub anonymous: reqwest::Client,
}

/// A client that sends `Authorization: Bearer <token>` unless a request sets its own.
pub fn client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

pub async fn start(dir: &Path) -> T {
    let mut cfg = LocalConfig::new(dir);
    cfg.timing = Timing::immediate();
    start_with(cfg).await
}

pub async fn start_with(cfg: LocalConfig) -> T {
    let ws = LocalWorkspace::start(cfg)
        .await
        .expect("the local workspace starts");
    T {
        http: client(ws.token()),
        anonymous: reqwest::Client::new(),
        ws,
    }
}

impl T {
    pub fn arm(&self, rel: &str) -> String {
        format!("{}{}?{API}", self.ws.workspace_url(), rel)
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut rb = self.http.request(method, url);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, v)
    }

    pub async fn get(&self, url: &str) -> (u16, Value) {
        let (s, _, v) = self.send(reqwest::Method::GET, url, None).await;
        (s, v)
    }

    pub async fn put(&self, url: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
        self.send(reqwest::Method::PUT, url, Some(body)).await
    }

    pub async fn post(&self, url: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
        self.send(reqwest::Method::POST, url, Some(body)).await
    }

    /// A code version whose files are under `src/` of a pending-upload container (a folder snapshot).
    pub async fn upload_code(&self, name: &str, files: &[(&str, &str)]) -> String {
        self.upload_code_in(name, "src", files).await
    }

    /// A code version whose files are put under `folder/` of a pending-upload container (at its root when
    /// `folder` is empty, with `codeUri` = `{blobUri}/`, as the SDK uploads a single code file); returns its id.
    pub async fn upload_code_in(&self, name: &str, folder: &str, files: &[(&str, &str)]) -> String {
        let (s, _, r) = self
            .post(
                &self.arm(&format!("/codes/{name}/versions/1/startPendingUpload")),
                json!({"pendingUploadType": "TemporaryBlobReference"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let blob_uri = r["blobReferenceForConsumption"]["blobUri"]
            .as_str()
            .unwrap()
            .to_owned();
        let sas_uri = r["blobReferenceForConsumption"]["credential"]["sasUri"]
            .as_str()
            .unwrap()
            .to_owned();
        let (container_url, sas) = sas_uri.split_once('?').unwrap();
        assert_eq!(container_url, blob_uri);
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        for (rel, content) in files {
            self.put_blob(
                &format!("{container_url}/{prefix}{rel}?{sas}"),
                content.as_bytes(),
            )
            .await;
        }
        let (s, _, v) = self
            .put(
                &self.arm(&format!("/codes/{name}/versions/1")),
                json!({"properties": {"codeUri": format!("{blob_uri}/{folder}"), "properties": {"hash_sha256": "abc", "hash_version": "202208"}}}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    pub async fn put_blob(&self, url: &str, data: &[u8]) {
        let resp = self
            .http
            .put(url)
            .header("x-ms-blob-type", "BlockBlob")
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201, "put blob {url}");
        assert!(resp.headers().get("etag").is_some());
    }

    /// URL of a blob in the default datastore, with a SAS from listSecrets.
    pub async fn datastore_blob_url(&self, path: &str) -> String {
        let (_, ds) = self.get(&self.arm("/datastores/workspaceblobstore")).await;
        let (_, _, secrets) = self
            .post(&self.arm("/datastores/workspaceblobstore/listSecrets"), json!({}))
            .await;
        assert_eq!(secrets["secretsType"], "Sas");
        let endpoint = ds["properties"]["properties"]["blobEndpoint"].as_str().unwrap();
        let container = ds["properties"]["containerName"].as_str().unwrap();
        format!(
            "{endpoint}/{container}/{path}?{}",
            secrets["sasToken"].as_str().unwrap()
        )
    }

    /// Waits (on the workspace's state changes) until the job reaches a terminal status.
    pub async fn wait_job(&self, name: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            // Created before the look, so a change in between is not missed.
            let changed = self.ws.state_changed();
            let (s, v) = self.get(&self.arm(&format!("/jobs/{name}"))).await;
            assert_eq!(s, 200, "{v}");
            let status = v["properties"]["status"].as_str().unwrap_or_default().to_owned();
            if matches!(status.as_str(), "Completed" | "Failed" | "Canceled") {
                return v;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("job {name} still {status}");
            }
        }
    }

    /// Follows an `Azure-AsyncOperation` URL until the operation ends; returns its final body.
    pub async fn wait_async_op(&self, url: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            // Created before the look, so a change in between is not missed.
            let changed = self.ws.state_changed();
            let (s, v) = self.get(url).await;
            assert_eq!(s, 200, "{v}");
            if v["status"] != "InProgress" {
                return v;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("operation still in progress");
            }
        }
    }

    /// Follows a `Location` URL while it answers 202; returns the final status code.
    pub async fn wait_location(&self, url: &str) -> u16 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            // Created before the look, so a change in between is not missed.
            let changed = self.ws.state_changed();
            let (s, _) = self.get(url).await;
            if s != 202 {
                return s;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("operation still in progress");
            }
        }
    }

    pub fn history(&self, rel: &str) -> String {
        format!(
            "{}/history/v1.0{}{rel}",
            self.ws.base_url(),
            self.ws.workspace_scope()
        )
    }

    pub fn mlflow(&self, route: &str) -> String {
        format!(
            "{}/mlflow/v2.0{}/api/2.0/mlflow/{route}",
            self.ws.base_url(),
            self.ws.workspace_scope()
        )
    }

    pub async fn command_job(
        &self,
        name: &str,
        code_id: &str,
        command: &str,
        inputs: Value,
        outputs: Value,
    ) -> (u16, Value) {
        let (s, _, v) = self
            .put(
                &self.arm(&format!("/jobs/{name}")),
                json!({"properties": {
                    "jobType": "Command",
                    "codeId": code_id,
                    "command": command,
                    "environmentId": "azureml://registries/azureml/environments/sklearn-1.5/versions/1",
                    "inputs": inputs,
                    "outputs": outputs,
                    "environmentVariables": {"GREETING": "hello"},
                    "experimentName": "tests",
                }}),
            )
            .await;
        (s, v)
    }
}
