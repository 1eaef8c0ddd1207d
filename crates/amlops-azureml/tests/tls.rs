//! A CA given only through SSL_CERT_FILE (NetworkSettings::ca_bundle) is trusted; without it the same server is
//! refused.

use std::sync::Arc;

use amlops_agent::NetworkSettings;
use amlops_azureml::http::build_client;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

async fn tls_server() -> (u16, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "amlops test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();

    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![server_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            )
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let body = "{\"ok\":true}";
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, ca.pem())
}

#[tokio::test]
async fn custom_ca_from_ssl_cert_file_is_trusted() {
    let (port, ca_pem) = tls_server().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("corp-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let url = format!("https://localhost:{port}/");

    let trusted = build_client(&NetworkSettings {
        ca_bundle: Some(ca_file),
        ..Default::default()
    })
    .unwrap();
    let resp = trusted.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "{\"ok\":true}");

    let untrusted = build_client(&NetworkSettings::default()).unwrap();
    let err = untrusted.get(&url).send().await.unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
}

#[test]
fn a_bad_ca_bundle_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.pem");
    std::fs::write(&f, "not a certificate").unwrap();
    let err = build_client(&NetworkSettings {
        ca_bundle: Some(f.clone()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("empty.pem"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = build_client(&NetworkSettings {
        ca_bundle: Some(missing),
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
}

#[tokio::test]
async fn proxy_is_used_with_credentials_and_bypassed_for_loopback() {
    // A "proxy" that records the first request line and Proxy-Authorization, then answers 200.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = sock.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await
            .unwrap();
        text
    });
    let settings = NetworkSettings {
        proxy_url: Some(format!("http://{addr}")),
        proxy_username: Some("user".into()),
        proxy_password: Some("pa:ss".into()),
        proxy_bypass_regexes: vec![r"\.internal\.example".into()],
        ..Default::default()
    };
    let client = build_client(&settings).unwrap();
    // A plain-http target (the client does not refuse it; AzureMlClient and RetryPolicy do) goes via the proxy.
    let resp = client.get("http://target.example/path").send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    let request = seen.await.unwrap();
    assert!(
        request.starts_with("GET http://target.example/path HTTP/1.1"),
        "{request}"
    );
    // base64("user:pa:ss")
    assert!(
        request
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic dxnlcjpwytpzcw=="),
        "{request}"
    );
    // The proxy is gone now; a loopback URL still works because loopback bypasses the proxy.
    let direct = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("direct"))
        .mount(&direct)
        .await;
    let resp = client.get(format!("{}/x", direct.uri())).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "direct");
}

#[tokio::test]
async fn redirect_to_plain_http_elsewhere_is_refused() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(
            wiremock::ResponseTemplate::new(302).insert_header("location", "http://example.org/leak"),
        )
        .mount(&server)
        .await;
    let client = build_client(&NetworkSettings::default()).unwrap();
    let err = client
        .get(format!("{}/start", server.uri()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
}
