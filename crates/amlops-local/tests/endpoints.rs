//! Online endpoints and deployments: LRO provisioning, scoring with key auth, traffic, getLogs, deletion.

use crate::common;

use serde_json::{Value, json};

const SCORE: &str = r#"
import json, os

def init():
    global model
    model = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.txt")).read()
    print("init called with", model, "for", os.environ["COLOR"])

def run(raw_data):
    data = json.loads(raw_data)
    print("scoring", data)
    return {"color": os.environ["COLOR"], "model": model, "sum": sum(data["values"])}
"#;

async fn put_and_wait(t: &common::T, url: &str, body: Value, expect: u16) -> Value {
    let (s, headers, v) = t.put(url, body).await;
    assert_eq!(s, expect, "{v}");
    let op = headers
        .get("azure-asyncoperation")
        .expect("Azure-AsyncOperation header")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(op.contains("/mfeOperationsStatus/"), "{op}");
    let status = t.wait_async_op(&op).await;
    assert_eq!(status["status"], "Succeeded", "{status}");
    v
}

async fn score(
    t: &common::T,
    uri: &str,
    key: &str,
    deployment: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut rb = t
        .http
        .post(uri)
        .bearer_auth(key)
        .json(&json!({"values": [1, 2, 3]}));
    if let Some(d) = deployment {
        rb = rb.header("azureml-model-deployment", d);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let dep = resp
        .headers()
        .get("azureml-model-deployment")
        .map(|v| v.to_str().unwrap().to_owned());
    let v = resp.json().await.unwrap_or(Value::Null);
    (status, dep, v)
}

fn deployment_body(code: &str, model: &str, color: &str) -> Value {
    json!({
        "location": "local",
        "sku": {"name": "Default", "capacity": 1},
        "properties": {
            "endpointComputeType": "Managed",
            "model": model,
            "instanceType": "Standard_DS3_v2",
            "environmentId": "azureml:env:1",
            "codeConfiguration": {"codeId": code, "scoringScript": "score.py"},
            "environmentVariables": {"COLOR": color},
        },
    })
}

#[tokio::test]
async fn endpoint_deployments_score_with_keys_traffic_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t.upload_code("score-code", &[("score.py", SCORE)]).await;
    t.put_blob(&t.datastore_blob_url("models/m1/model.txt").await, b"weights-v1")
        .await;
    let (s, _, model) = t
        .put(
            &t.arm("/models/m1/versions/1"),
            json!({"properties": {"modelType": "custom_model", "modelUri": "azureml://datastores/workspaceblobstore/paths/models/m1/model.txt"}}),
        )
        .await;
    assert_eq!(s, 201, "{model}");
    let model_id = model["id"].as_str().unwrap().to_owned();

    let ep = put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-one"),
        json!({"location": "local", "properties": {"authMode": "Key"}}),
        201,
    )
    .await;
    assert_eq!(ep["properties"]["provisioningState"], "Creating");
    let (_, ep) = t.get(&t.arm("/onlineEndpoints/ep-one")).await;
    assert_eq!(ep["properties"]["provisioningState"], "Succeeded");
    let scoring_uri = ep["properties"]["scoringUri"].as_str().unwrap().to_owned();

    for color in ["blue", "green"] {
        put_and_wait(
            &t,
            &t.arm(&format!("/onlineEndpoints/ep-one/deployments/{color}")),
            deployment_body(&code, &model_id, color),
            201,
        )
        .await;
        let (_, d) = t
            .get(&t.arm(&format!("/onlineEndpoints/ep-one/deployments/{color}")))
            .await;
        assert_eq!(d["properties"]["provisioningState"], "Succeeded");
    }
    let (_, list) = t.get(&t.arm("/onlineEndpoints/ep-one/deployments")).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 2);

    // Traffic: all to blue.
    let mut body =
        json!({"location": "local", "properties": {"authMode": "Key", "traffic": {"blue": 100, "green": 0}}});
    put_and_wait(&t, &t.arm("/onlineEndpoints/ep-one"), body.clone(), 200).await;
    let (_, _, keys) = t
        .post(&t.arm("/onlineEndpoints/ep-one/listKeys"), json!({}))
        .await;
    let key = keys["primaryKey"].as_str().unwrap().to_owned();
    assert!(!key.is_empty());

    let (s, _, _) = score(&t, &scoring_uri, "wrong-key", None).await;
    assert_eq!(s, 401);
    for _ in 0..5 {
        let (s, dep, v) = score(&t, &scoring_uri, &key, None).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(dep.as_deref(), Some("blue"));
        assert_eq!(v, json!({"color": "blue", "model": "weights-v1", "sum": 6}));
    }
    let (s, dep, v) = score(
        &t,
        &scoring_uri,
        keys["secondaryKey"].as_str().unwrap(),
        Some("green"),
    )
    .await;
    assert_eq!((s, dep.as_deref()), (200, Some("green")));
    assert_eq!(v["color"], "green");

    // Traffic moved to green. In Key mode an endpoint token is no key; nor is the workspace's token.
    body["properties"]["traffic"] = json!({"blue": 0, "green": 100});
    put_and_wait(&t, &t.arm("/onlineEndpoints/ep-one"), body.clone(), 200).await;
    let (_, _, token) = t.post(&t.arm("/onlineEndpoints/ep-one/token"), json!({})).await;
    let token = token["accessToken"].as_str().unwrap().to_owned();
    for wrong in [token.as_str(), t.ws.token(), ""] {
        let (s, _, _) = score(&t, &scoring_uri, wrong, None).await;
        assert_eq!(s, 401, "Key mode with {wrong:?}");
    }
    // AMLToken mode: only a token the endpoint's `token` action issued.
    let mut aml = body.clone();
    aml["properties"]["authMode"] = "AMLToken".into();
    put_and_wait(&t, &t.arm("/onlineEndpoints/ep-one"), aml, 200).await;
    for _ in 0..5 {
        let (s, dep, _) = score(&t, &scoring_uri, &token, None).await;
        assert_eq!((s, dep.as_deref()), (200, Some("green")));
    }
    let forged = format!("{}x", &token[..token.len() - 1]);
    for wrong in [key.as_str(), t.ws.token(), forged.as_str()] {
        let (s, _, _) = score(&t, &scoring_uri, wrong, None).await;
        assert_eq!(s, 401, "AMLToken mode with {wrong:?}");
    }
    // AADToken mode: the workspace's own token (what its credential gives for any scope), not any bearer.
    let mut aad = body.clone();
    aad["properties"]["authMode"] = "AADToken".into();
    put_and_wait(&t, &t.arm("/onlineEndpoints/ep-one"), aad, 200).await;
    let (s, dep, _) = score(&t, &scoring_uri, t.ws.token(), None).await;
    assert_eq!((s, dep.as_deref()), (200, Some("green")));
    for wrong in [key.as_str(), token.as_str(), "eyJhbGciOiJub25lIn0.e30."] {
        let (s, _, _) = score(&t, &scoring_uri, wrong, None).await;
        assert_eq!(s, 401, "AADToken mode with {wrong:?}");
    }
    put_and_wait(&t, &t.arm("/onlineEndpoints/ep-one"), body.clone(), 200).await;
    // Updating a deployment in place provisions it again; the new version then serves.
    put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-one/deployments/green"),
        deployment_body(&code, &model_id, "green-2"),
        200,
    )
    .await;
    let (_, dep, v) = score(&t, &scoring_uri, &key, None).await;
    assert_eq!(
        (dep.as_deref(), v["color"].as_str()),
        (Some("green"), Some("green-2"))
    );

    // Traffic must add up to 100 and name existing deployments.
    let (s, _, v) = t
        .put(
            &t.arm("/onlineEndpoints/ep-one"),
            json!({"location": "local", "properties": {"authMode": "Key", "traffic": {"blue": 50}}}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, _, _) = t
        .put(
            &t.arm("/onlineEndpoints/ep-one"),
            json!({"location": "local", "properties": {"authMode": "Key", "traffic": {"nope": 100}}}),
        )
        .await;
    assert_eq!(s, 400);

    // getLogs returns the scoring process output.
    let (s, _, logs) = t
        .post(
            &t.arm("/onlineEndpoints/ep-one/deployments/blue/getLogs"),
            json!({"containerType": "InferenceServer", "tail": 100}),
        )
        .await;
    assert_eq!(s, 200);
    let content = logs["content"].as_str().unwrap();
    assert!(
        content.contains("init called with weights-v1 for blue"),
        "{content}"
    );
    assert!(content.contains("scoring {'values': [1, 2, 3]}"), "{content}");
    let (_, _, tail) = t
        .post(
            &t.arm("/onlineEndpoints/ep-one/deployments/blue/getLogs"),
            json!({"tail": 1}),
        )
        .await;
    assert_eq!(tail["content"].as_str().unwrap().lines().count(), 1);

    // A deployment with traffic cannot be deleted; one without can, through a Location LRO.
    let (s, _, v) = t
        .send(
            reqwest::Method::DELETE,
            &t.arm("/onlineEndpoints/ep-one/deployments/green"),
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, headers, _) = t
        .send(
            reqwest::Method::DELETE,
            &t.arm("/onlineEndpoints/ep-one/deployments/blue"),
            None,
        )
        .await;
    assert_eq!(s, 202);
    let location = headers.get("location").unwrap().to_str().unwrap().to_owned();
    assert_eq!(t.wait_location(&location).await, 200);
    let (s, v) = t.get(&t.arm("/onlineEndpoints/ep-one/deployments/blue")).await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "ResourceNotFound");

    // Deleting the endpoint removes it and its deployments.
    let (s, headers, _) = t
        .send(reqwest::Method::DELETE, &t.arm("/onlineEndpoints/ep-one"), None)
        .await;
    assert_eq!(s, 202);
    assert_eq!(
        t.wait_location(headers.get("location").unwrap().to_str().unwrap())
            .await,
        200
    );
    let (s, _) = t.get(&t.arm("/onlineEndpoints/ep-one")).await;
    assert_eq!(s, 404);
    let (s, _, _) = score(&t, &scoring_uri, &key, None).await;
    assert_eq!(s, 404);
    t.ws.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_scoring_script_whose_init_fails_fails_the_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::start(dir.path()).await;
    let code = t
        .upload_code(
            "broken",
            &[(
                "score.py",
                "def init():\n    raise RuntimeError('no model here')\n\ndef run(d):\n    return d\n",
            )],
        )
        .await;
    put_and_wait(
        &t,
        &t.arm("/onlineEndpoints/ep-two"),
        json!({"location": "local", "properties": {"authMode": "Key"}}),
        201,
    )
    .await;
    let mut body = deployment_body(&code, "", "red");
    body["properties"].as_object_mut().unwrap().remove("model");
    let (s, headers, _) = t
        .put(&t.arm("/onlineEndpoints/ep-two/deployments/red"), body)
        .await;
    assert_eq!(s, 201);
    let status = t
        .wait_async_op(headers.get("azure-asyncoperation").unwrap().to_str().unwrap())
        .await;
    assert_eq!(status["status"], "Failed");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("RuntimeError: no model here"),
        "{status}"
    );
    let (_, d) = t.get(&t.arm("/onlineEndpoints/ep-two/deployments/red")).await;
    assert_eq!(d["properties"]["provisioningState"], "Failed");
    t.ws.shutdown().await.unwrap();
}
