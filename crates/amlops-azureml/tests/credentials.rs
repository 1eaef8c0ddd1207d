//! Credentials per connection scheme, against a loopback authority and OIDC endpoint.

use crate::common::*;
use amlops_agent::{AzureAuth, AzureEnvironment, AzureRmConnection, CancellationToken, NetworkSettings};
use amlops_azureml::credential::{
    CertificateAssertion, PipelineIdentity, credential_for_connection, scope_for_resource,
};
use amlops_azureml::http::build_client;
use amlops_azureml::{ErrorKind, RetryPolicy};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn connection(server: &MockServer, auth: AzureAuth) -> AzureRmConnection {
    AzureRmConnection {
        id: "0f0e0d0c-aaaa-bbbb-cccc-000000000001".into(),
        resource_manager_url: "https://management.azure.com/".into(),
        subscription_id: Some(SUB.into()),
        environment: AzureEnvironment::AzureCloud,
        authority: format!("{}/", server.uri()),
        resource_id: "https://management.azure.com/".into(),
        auth,
    }
}

const SCOPE_ENC: &str = "scope=https%3A%2F%2Fmanagement.azure.com%2F.default";

#[test]
fn scope_is_resource_plus_default() {
    assert_eq!(
        scope_for_resource("https://management.azure.com/"),
        "https://management.azure.com/.default"
    );
    assert_eq!(
        scope_for_resource("https://management.usgovcloudapi.net"),
        "https://management.usgovcloudapi.net/.default"
    );
}

#[tokio::test]
async fn workload_identity_federation_uses_the_snapshot_oidc_uri() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oidc/token"))
        .and(query_param("api-version", "7.1"))
        .and(query_param(
            "serviceConnectionId",
            "0f0e0d0c-aaaa-bbbb-cccc-000000000001",
        ))
        .and(header("authorization", "Bearer SYSTEMTOKEN"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"oidcToken": "OIDC-JWT"})))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .and(body_string_contains("client_assertion=OIDC-JWT"))
        .and(body_string_contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        ))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=app-1"))
        .and(body_string_contains(SCOPE_ENC))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "ARM-TOKEN", "expires_in": 0, "token_type": "Bearer"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let conn = connection(
        &server,
        AzureAuth::WorkloadIdentityFederation {
            tenant_id: "tenant-1".into(),
            client_id: "app-1".into(),
            id_token: None,
        },
    );
    let pipeline = PipelineIdentity {
        oidc_request_uri: Some(format!("{}/oidc/token", server.uri())),
        system_access_token: Some("SYSTEMTOKEN".into()),
    };
    let (sink, seen) = recording_sink();
    let http = build_client(&NetworkSettings::default()).unwrap();
    let cred = credential_for_connection(&conn, &pipeline, &http, &RetryPolicy::default(), sink)
        .unwrap()
        .unwrap();
    let cancel = CancellationToken::new();
    let scope = scope_for_resource(&conn.resource_id);
    assert_eq!(cred.token(&scope, &cancel).await.unwrap(), "ARM-TOKEN");
    // The token is already expired: the next call asks again (a new OIDC token, a new exchange).
    assert_eq!(cred.token(&scope, &cancel).await.unwrap(), "ARM-TOKEN");
    let seen = seen.lock().unwrap();
    for s in ["SYSTEMTOKEN", "OIDC-JWT", "ARM-TOKEN"] {
        assert!(seen.iter().any(|v| v == s), "{s} not registered");
    }
}

#[tokio::test]
async fn wif_without_pipeline_values_is_a_clear_error() {
    let server = MockServer::start().await;
    let conn = connection(
        &server,
        AzureAuth::WorkloadIdentityFederation {
            tenant_id: "t".into(),
            client_id: "c".into(),
            id_token: None,
        },
    );
    let http = build_client(&NetworkSettings::default()).unwrap();
    let (sink, _) = recording_sink();
    let err = credential_for_connection(
        &conn,
        &PipelineIdentity::default(),
        &http,
        &RetryPolicy::default(),
        sink,
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication);
    assert!(err.to_string().contains("System.OidcRequestUri"), "{err}");
}

#[tokio::test]
async fn client_secret_and_entra_errors_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-2/oauth2/v2.0/token"))
        .and(body_string_contains("client_secret=S3CRET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2"
        })))
        .mount(&server)
        .await;
    let conn = connection(
        &server,
        AzureAuth::ServicePrincipalSecret {
            tenant_id: "tenant-2".into(),
            client_id: "app-2".into(),
            secret: "S3CRET".into(),
        },
    );
    let http = build_client(&NetworkSettings::default()).unwrap();
    let (sink, seen) = recording_sink();
    let cred = credential_for_connection(
        &conn,
        &PipelineIdentity::default(),
        &http,
        &RetryPolicy::none(),
        sink,
    )
    .unwrap()
    .unwrap();
    assert!(
        seen.lock().unwrap().iter().any(|v| v == "S3CRET"),
        "the secret is registered up front"
    );
    let err = cred
        .token("https://management.azure.com/.default", &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Authentication);
    let text = err.to_string();
    assert!(text.contains("AADSTS7000215") && text.contains("app-2"), "{text}");
    assert!(!text.contains("S3CRET") && !text.contains("Trace ID"), "{text}");
}

fn pem() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/spn.pem")).unwrap()
}

#[test]
fn certificate_assertion_is_a_verifiable_rs256_jwt() {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::Verifier;
    use sha1::Digest;
    let pem = pem();
    let a =
        CertificateAssertion::from_pem("app-3", "https://login.example/t/oauth2/v2.0/token", &pem).unwrap();
    let jwt = a.sign().unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    // x5t = base64url(sha1(certificate DER)), computed here from the PEM.
    let cert_b64: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(cert_b64)
        .unwrap();
    assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der)));
    assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
    assert_eq!(claims["iss"], "app-3");
    assert_eq!(claims["sub"], "app-3");
    assert!(claims["exp"].as_i64().unwrap() > claims["nbf"].as_i64().unwrap());
    let key_b64: String = pem
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .unwrap()
        .split("-----END PRIVATE KEY-----")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let key = rsa::RsaPrivateKey::from_pkcs8_der(
        &base64::engine::general_purpose::STANDARD.decode(key_b64).unwrap(),
    )
    .unwrap();
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.to_public_key());
    let sig =
        rsa::pkcs1v15::Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
    verifier
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .unwrap();
}

#[tokio::test]
async fn certificate_connection_exchanges_an_assertion() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-3/oauth2/v2.0/token"))
        .and(body_string_contains("client_assertion=ey"))
        .and(body_string_contains("client_id=app-3"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "CERT-TOKEN", "expires_in": "3600"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let conn = connection(
        &server,
        AzureAuth::ServicePrincipalCertificate {
            tenant_id: "tenant-3".into(),
            client_id: "app-3".into(),
            pem: pem(),
        },
    );
    let http = build_client(&NetworkSettings::default()).unwrap();
    let (sink, _) = recording_sink();
    let cred = credential_for_connection(
        &conn,
        &PipelineIdentity::default(),
        &http,
        &RetryPolicy::default(),
        sink,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        cred.token("https://management.azure.com/.default", &CancellationToken::new())
            .await
            .unwrap(),
        "CERT-TOKEN"
    );
}

#[test]
fn certificate_pem_problems_are_clear() {
    let err = CertificateAssertion::from_pem(
        "a",
        "aud",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("no private key"), "{err}");
    let err = CertificateAssertion::from_pem("a", "aud", "nothing").unwrap_err();
    assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
}

#[tokio::test]
async fn a_bare_token_is_for_a_loopback_arm_url_only() {
    let server = MockServer::start().await;
    let http = build_client(&NetworkSettings::default()).unwrap();
    let token = AzureAuth::Token {
        token: "local-token-1".into(),
    };
    let (sink, seen) = recording_sink();
    // Not loopback: refused, and the token is still registered as a secret first.
    let err = credential_for_connection(
        &connection(&server, token.clone()),
        &PipelineIdentity::default(),
        &http,
        &RetryPolicy::default(),
        sink.clone(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(!err.to_string().contains("local-token-1"), "{err}");
    assert_eq!(seen.lock().unwrap().as_slice(), ["local-token-1"]);
    let mut local = connection(&server, token);
    local.resource_manager_url = "http://127.0.0.1:4242/".into();
    let cred = credential_for_connection(
        &local,
        &PipelineIdentity::default(),
        &http,
        &RetryPolicy::default(),
        sink,
    )
    .unwrap()
    .expect("a credential");
    let cancel = CancellationToken::new();
    for scope in ["http://127.0.0.1:4242/.default", "https://ml.azure.com/.default"] {
        assert_eq!(cred.token(scope, &cancel).await.unwrap(), "local-token-1");
    }
}

#[tokio::test]
async fn no_credential_and_managed_identity() {
    let server = MockServer::start().await;
    let http = build_client(&NetworkSettings::default()).unwrap();
    let (sink, _) = recording_sink();
    let none = credential_for_connection(
        &connection(&server, AzureAuth::None),
        &PipelineIdentity::default(),
        &http,
        &RetryPolicy::default(),
        sink.clone(),
    )
    .unwrap();
    assert!(none.is_none());
    let mi = credential_for_connection(
        &connection(
            &server,
            AzureAuth::ManagedIdentity {
                client_id: Some("mi-client".into()),
            },
        ),
        &PipelineIdentity::default(),
        &http,
        &RetryPolicy::default(),
        sink,
    )
    .unwrap();
    assert!(mi.is_some());
}
