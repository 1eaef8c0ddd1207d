//! Workspace, discovery, ARM conventions, blob protocol, assets, restart.

use crate::common;

use std::time::Duration;

use serde_json::json;

#[tokio::test]
async fn workspace_discovery_and_arm_conventions() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let (s, ws) = t.get(&t.arm("")).await;
    assert_eq!(s, 200);
    assert_eq!(ws["name"], "local");
    assert_eq!(ws["id"], t.ws.workspace_scope());
    let (s, disc) = t.get(ws["properties"]["discoveryUrl"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(disc["api"], t.ws.base_url());
    let tracking = ws["properties"]["mlFlowTrackingUri"].as_str().unwrap();
    assert!(
        tracking.starts_with(&format!("{}/mlflow/v1.0/subscriptions/", t.ws.base_url())),
        "{tracking}"
    );

    // api-version is required on ARM routes; unknown resources give ARM 404 bodies.
    let (_, headers, _) = t.send(reqwest::Method::GET, &t.arm(""), None).await;
    assert!(headers.get("x-ms-request-id").is_some());
    let (s, v) = t.get(&t.ws.workspace_url()).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "MissingApiVersionParameter");
    let (s, v) = t.get(&t.arm("/models/nope/versions/1")).await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "ResourceNotFound");
    assert!(v["error"]["message"].as_str().unwrap().contains("nope"));
    let (s, v) = t.get(&t.arm("/jobs/nope")).await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("ResourceNotFound")));
    let other = format!(
        "{}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/other/providers/Microsoft.MachineLearningServices/workspaces/local?{}",
        t.ws.base_url(),
        common::API
    );
    let (s, v) = t.get(&other).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("ResourceGroupNotFound"))
    );

    // Any compute name resolves to the local machine.
    let (s, c) = t.get(&t.arm("/computes/cpu-cluster")).await;
    assert_eq!(
        (s, c["properties"]["provisioningState"].as_str()),
        (200, Some("Succeeded"))
    );

    // Datastores.
    let (_, list) = t.get(&format!("{}&isDefault=true", t.arm("/datastores"))).await;
    assert_eq!(list["value"][0]["name"], "workspaceblobstore");
    assert_eq!(
        list["value"][0]["properties"]["credentials"]["credentialsType"],
        "Sas"
    );

    // Model container and versions.
    for v in ["1", "2"] {
        let (s, _, body) = t
            .put(&t.arm(&format!("/models/clf/versions/{v}")), json!({"properties": {"modelType": "custom_model", "modelUri": format!("azureml://datastores/workspaceblobstore/paths/m/{v}/")}}))
            .await;
        assert_eq!(s, 201, "{body}");
        assert_eq!(body["properties"]["provisioningState"], "Succeeded");
        tokio::time::sleep(Duration::from_millis(5)).await; // distinct creation times
    }
    let (s, _, _) = t.put(&t.arm("/models/clf/versions/1"), json!({"properties": {"modelType": "custom_model", "modelUri": "azureml://datastores/workspaceblobstore/paths/other/"}})).await;
    assert_eq!(s, 409);
    let (s, _, same) = t.put(&t.arm("/models/clf/versions/1"), json!({"properties": {"modelType": "custom_model", "modelUri": "azureml://datastores/workspaceblobstore/paths/m/1/", "tags": {"stage": "prod"}}})).await;
    assert_eq!(s, 200);
    assert_eq!(same["properties"]["tags"]["stage"], "prod");
    let (_, container) = t.get(&t.arm("/models/clf")).await;
    assert_eq!(container["properties"]["latestVersion"], "2");
    assert_eq!(container["properties"]["nextVersion"], "3");
    let (_, versions) = t.get(&t.arm("/models/clf/versions")).await;
    assert_eq!(versions["value"].as_array().unwrap().len(), 2);
    let (s, _, bad) = t
        .put(
            &t.arm("/models/clf/versions/9"),
            json!({"properties": {"modelType": "custom_model"}}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(bad["error"]["message"].as_str().unwrap().contains("modelUri"));

    // Environments and code lookup by hash.
    let (s, _, _) = t
        .put(
            &t.arm("/environments/env/versions/1"),
            json!({"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"}}),
        )
        .await;
    assert_eq!(s, 201);
    let code = t.upload_code("c1", &[("a.py", "print(1)")]).await;
    let (_, hits) = t
        .get(&format!(
            "{}&hash=abc&hashVersion=202208",
            t.arm("/codes/c1/versions")
        ))
        .await;
    assert_eq!(hits["value"][0]["id"], code);
    let (_, misses) = t
        .get(&format!(
            "{}&hash=def&hashVersion=202208",
            t.arm("/codes/c1/versions")
        ))
        .await;
    assert_eq!(misses["value"].as_array().unwrap().len(), 0);

    // Schedules are an LRO like endpoints.
    let (s, headers, v) = t
        .put(&t.arm("/schedules/monitor"), json!({"properties": {"trigger": {"triggerType": "Cron", "expression": "0 * * * *"}, "action": {"actionType": "CreateMonitor", "monitorDefinition": {}}}}))
        .await;
    assert_eq!(s, 201, "{v}");
    let op = t
        .wait_async_op(headers.get("azure-asyncoperation").unwrap().to_str().unwrap())
        .await;
    assert_eq!(op["status"], "Succeeded");
    let (_, sched) = t.get(&t.arm("/schedules/monitor")).await;
    assert_eq!(sched["properties"]["provisioningState"], "Succeeded");
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn blob_protocol_put_blocks_get_head_metadata_list() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let base = t.datastore_blob_url("x").await;
    let (container_url, sas) = {
        let (u, q) = base.split_once('?').unwrap();
        (u.trim_end_matches("/x").to_owned(), q.to_owned())
    };
    let url = |name: &str, extra: &str| format!("{container_url}/{name}?{sas}{extra}");

    let r = t
        .http
        .put(url("dir/a.txt", ""))
        .body("alpha")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["x-ms-error-code"], "MissingRequiredHeader");
    let r = t
        .http
        .put(url("dir/a.txt", ""))
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-meta-origin", "test")
        .header("content-type", "text/plain")
        .body("alpha")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(r.headers()["etag"].to_str().unwrap().starts_with("\"0x"));

    for (id, part) in [("YmxrMQ==", "big-"), ("YmxrMg==", "file")] {
        let r = t
            .http
            .put(url(
                "dir/sub/big.bin",
                &format!("&comp=block&blockid={}", id.replace('=', "%3D")),
            ))
            .body(part)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>YmxrMQ==</Latest><Latest>YmxrMg==</Latest></BlockList>";
    let r = t
        .http
        .put(url("dir/sub/big.bin", "&comp=blocklist"))
        .body(list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(
        t.http
            .get(url("dir/sub/big.bin", ""))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "big-file"
    );

    let r = t
        .http
        .get(url("dir/sub/big.bin", ""))
        .header("x-ms-range", "bytes=4-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 4-7/8");
    assert_eq!(r.text().await.unwrap(), "file");

    let r = t.http.head(url("dir/a.txt", "")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["x-ms-meta-origin"], "test");
    assert_eq!(r.headers()["content-length"], "5");
    assert_eq!(r.headers()["content-type"], "text/plain");
    let r = t
        .http
        .put(url("dir/a.txt", "&comp=metadata"))
        .header("x-ms-meta-upload_status", "completed")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = t.http.head(url("dir/a.txt", "")).send().await.unwrap();
    assert_eq!(r.headers()["x-ms-meta-upload_status"], "completed");
    assert!(r.headers().get("x-ms-meta-origin").is_none());

    t.put_blob(&url("other.txt", ""), b"o").await;
    let xml = t
        .http
        .get(format!(
            "{container_url}?{sas}&restype=container&comp=list&prefix=dir/&include=metadata"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains("<Name>dir/a.txt</Name>") && xml.contains("<Name>dir/sub/big.bin</Name>"),
        "{xml}"
    );
    assert!(!xml.contains("other.txt"), "{xml}");
    assert!(xml.contains("<upload_status>completed</upload_status>"), "{xml}");
    let xml = t
        .http
        .get(format!(
            "{container_url}?restype=container&comp=list&prefix=dir/&delimiter=/"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains("<BlobPrefix><Name>dir/sub/</Name></BlobPrefix>"),
        "{xml}"
    );
    let xml = t
        .http
        .get(format!(
            "{container_url}?restype=container&comp=list&maxresults=1"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<NextMarker>dir/sub/big.bin</NextMarker>"), "{xml}");

    let r = t
        .http
        .get(url("missing", ""))
        .header("x-ms-client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-ms-client-request-id"], "abc-123");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["x-ms-error-code"], "BlobNotFound");
    let r = t
        .http
        .put(url("dir/a.txt", ""))
        .header("x-ms-blob-type", "BlockBlob")
        .header("if-none-match", "*")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t
        .upload_code(
            "persist",
            &[
                (
                    "score.py",
                    "def init():\n    pass\n\ndef run(d):\n    return 'ok'\n",
                ),
                ("job.py", "print('ran')\n"),
            ],
        )
        .await;
    t.put_blob(&t.datastore_blob_url("keep/data.txt").await, b"kept")
        .await;
    let (s, _, _) = t.put(&t.arm("/models/kept/versions/1"), json!({"properties": {"modelUri": "azureml://datastores/workspaceblobstore/paths/keep/", "modelType": "custom_model"}})).await;
    assert_eq!(s, 201);
    let (s, _) = t
        .command_job("job-persist", &code, "python job.py", json!({}), json!({}))
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        t.wait_job("job-persist").await["properties"]["status"],
        "Completed"
    );
    let (_, _, _) = t
        .put(
            &t.arm("/onlineEndpoints/ep-keep"),
            json!({"location": "local", "properties": {"authMode": "Key"}}),
        )
        .await;
    let (_, headers, _) = t
        .put(
            &t.arm("/onlineEndpoints/ep-keep/deployments/only"),
            json!({"location": "local", "properties": {"endpointComputeType": "Managed", "codeConfiguration": {"codeId": code, "scoringScript": "score.py"}}}),
        )
        .await;
    assert_eq!(
        t.wait_async_op(headers.get("azure-asyncoperation").unwrap().to_str().unwrap())
            .await["status"],
        "Succeeded"
    );
    let (_, _, keys) = t
        .post(&t.arm("/onlineEndpoints/ep-keep/listKeys"), json!({}))
        .await;
    let (_, _, run) = t
        .post(
            &t.mlflow("runs/log-metric"),
            json!({"run_id": "job-persist", "key": "auc", "value": 0.9, "timestamp": 1, "step": 0}),
        )
        .await;
    assert_eq!(run, json!({}));
    t.ws.shutdown().await.unwrap();

    let t = common::start(dir.path()).await;
    let (s, m) = t.get(&t.arm("/models/kept/versions/1")).await;
    assert_eq!(s, 200, "{m}");
    let blob = t
        .http
        .get(t.datastore_blob_url("keep/data.txt").await)
        .send()
        .await
        .unwrap();
    assert_eq!(blob.text().await.unwrap(), "kept");
    let (_, job) = t.get(&t.arm("/jobs/job-persist")).await;
    assert_eq!(job["properties"]["status"], "Completed");
    let (_, details) = t.get(&t.history("/runs/job-persist/details")).await;
    let log_url = details["logFiles"]["user_logs/std_log.txt"].as_str().unwrap();
    assert!(
        log_url.starts_with(t.ws.base_url()),
        "log URLs follow the new port"
    );
    assert_eq!(
        t.http
            .get(log_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .trim(),
        "ran"
    );
    let (_, run) = t
        .get(&format!("{}?run_id=job-persist", t.mlflow("runs/get")))
        .await;
    assert_eq!(run["run"]["data"]["metrics"][0]["key"], "auc");
    let (_, _, keys2) = t
        .post(&t.arm("/onlineEndpoints/ep-keep/listKeys"), json!({}))
        .await;
    assert_eq!(keys, keys2);
    // The deployment is started again; scoring answers once it is up.
    let (_, ep) = t.get(&t.arm("/onlineEndpoints/ep-keep")).await;
    let uri = ep["properties"]["scoringUri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with(t.ws.base_url()));
    t.ws.ready().await;
    let r = t
        .http
        .post(&uri)
        .bearer_auth(keys["primaryKey"].as_str().unwrap())
        .header("azureml-model-deployment", "only")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "\"ok\"");
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn lists_page_through_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = amlops_local::LocalConfig::new(dir.path());
    cfg.timing = amlops_local::Timing {
        page_size: 2,
        ..amlops_local::Timing::immediate()
    };
    let t = common::start_with(cfg).await;
    for i in 1..=5 {
        let (s, _, _) = t
            .put(
                &t.arm(&format!("/models/m{i}/versions/1")),
                json!({"properties": {"modelUri": "azureml://datastores/workspaceblobstore/paths/x/"}}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let mut url = t.arm("/models");
    let mut names = Vec::new();
    loop {
        let (s, page) = t.get(&url).await;
        assert_eq!(s, 200, "{page}");
        names.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned()),
        );
        match page["nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(names, ["m1", "m2", "m3", "m4", "m5"]);
    t.ws.shutdown().await.unwrap();
}
