//! Who may talk to the local workspace: the server token, the `Host` check, signed blob and log URLs, job tokens
//! for MLflow, and the endpoint keys and tokens of scoring.
//!
//! - Every ARM, data-plane (discovery, run history, MLflow) and storage route requires
//!   `Authorization: Bearer <server token>`; the token is random, made at start (see [`ServerAuth::new`]).
//! - Storage and log URLs the server hands out carry their own signed query instead (`sp`, `se`, `sr`, `sig`:
//!   an HMAC-SHA256 with a secret that never leaves the process), checked on access: the path must be the one
//!   signed (or inside the signed container), the method allowed by `sp`, and `se` in the future.
//! - A job process gets `MLFLOW_TRACKING_TOKEN`, a token valid for the MLflow routes only.
//! - A `Host` header other than the server's own loopback address is refused (DNS rebinding).
//! - Every comparison of a secret runs in constant time.

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::{App, Req};
use crate::error::{ApiError, LocalError};
use crate::util::query_get;

/// The storage service version the signed queries name.
const SIGNED_VERSION: &str = "2025-01-05";

/// How long a signed URL handed out by the server stays valid.
pub(crate) const SIGNED_URL_LIFETIME: time::Duration = time::Duration::hours(24);

/// The server token and the signing secret of one run of the server.
pub(crate) struct ServerAuth {
    token: String,
    secret: [u8; 32],
    port: u16,
}

impl std::fmt::Debug for ServerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerAuth")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Whether two secrets are equal, in time that depends only on their lengths.
pub(crate) fn secret_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of `Authorization: Bearer <value>` (scheme case-insensitive), if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, value) = v.split_once(' ')?;
    let value = value.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !value.is_empty()).then_some(value)
}

fn random_bytes() -> Result<[u8; 32], LocalError> {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut b).map_err(|e| {
        LocalError::Server(format!("cannot read random bytes from the operating system: {e}"))
    })?;
    Ok(b)
}

impl ServerAuth {
    /// A new random token (32 bytes, hex) and signing secret for a server on 127.0.0.1:`port`.
    pub(crate) fn new(port: u16) -> Result<Self, LocalError> {
        Ok(Self {
            token: hex::encode(random_bytes()?),
            secret: random_bytes()?,
            port,
        })
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    fn mac(&self, parts: &[&str]) -> String {
        // An HMAC takes a key of any length: this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return String::new();
        };
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(b"\n");
            }
            mac.update(p.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether the request carries the server token.
    pub(crate) fn has_server_token(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|b| secret_eq(b, &self.token))
    }

    /// The MLflow token of job `name` (`MLFLOW_TRACKING_TOKEN` in its environment).
    pub(crate) fn job_token(&self, name: &str) -> String {
        format!("job.{}.{}", hex::encode(name), self.mac(&["job", name]))
    }

    /// The job whose MLflow token the request carries, if it carries a valid one.
    pub(crate) fn job_of(&self, headers: &HeaderMap) -> Option<String> {
        let b = bearer(headers)?;
        let mut parts = b.splitn(3, '.');
        let (Some("job"), Some(name), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let name = String::from_utf8(hex::decode(name).ok()?).ok()?;
        secret_eq(b, &self.job_token(&name)).then_some(name)
    }

    /// The signed query for `resource` (a decoded path: `/amlopslocal/{container}` with `sr=c`, a blob or log file
    /// path with `sr=b`), permissions `sp` (`r`, `a`, `c`, `w`, `d`, `l`), valid until now + [`SIGNED_URL_LIFETIME`].
    pub(crate) fn sign(&self, resource: &str, sr: &str, sp: &str) -> String {
        let expiry = (OffsetDateTime::now_utc() + SIGNED_URL_LIFETIME)
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        self.sign_until(resource, sr, sp, expiry)
    }

    fn sign_until(&self, resource: &str, sr: &str, sp: &str, expiry: OffsetDateTime) -> String {
        let se = expiry.format(&Rfc3339).unwrap_or_default();
        let sig = self.mac(&[SIGNED_VERSION, sr, sp, &se, resource]);
        format!(
            "sv={SIGNED_VERSION}&sr={sr}&sp={sp}&se={}&spr=http&sig={sig}",
            crate::util::encode(&se)
        )
    }

    /// Checks the signed query of a request for `path` (decoded: `/{first}/{container}/{rest}`). `Err` says why.
    pub(crate) fn check_signed(
        &self,
        method: &Method,
        path: &[String],
        query: &[(String, String)],
    ) -> Result<(), String> {
        let get = |k: &str| query_get(query, k).unwrap_or("");
        let (sv, sr, sp, se, sig) = (get("sv"), get("sr"), get("sp"), get("se"), get("sig"));
        if sig.is_empty() {
            return Err("no signature".into());
        }
        let resource = match sr {
            "c" if path.len() >= 2 => format!("/{}/{}", path[0], path[1]),
            "b" => format!("/{}", path.join("/")),
            _ => return Err(format!("the signed resource '{sr}' does not cover this path")),
        };
        if !secret_eq(sig, &self.mac(&[sv, sr, sp, se, &resource])) {
            return Err("the signature does not match".into());
        }
        let expiry =
            OffsetDateTime::parse(se, &Rfc3339).map_err(|_| "the expiry is not a date".to_owned())?;
        if expiry <= OffsetDateTime::now_utc() {
            return Err(format!("the signature expired at {se}"));
        }
        let listing = query_get(query, "comp") == Some("list");
        let needed: &[char] = match method.as_str() {
            "GET" | "HEAD" if listing => &['l'],
            "GET" | "HEAD" => &['r'],
            "DELETE" => &['d'],
            _ => &['w', 'c', 'a'],
        };
        if !sp.chars().any(|c| needed.contains(&c)) {
            return Err(format!("the signed permissions '{sp}' do not allow {method}"));
        }
        Ok(())
    }

    /// Whether the `Host` of a request is this server's own loopback address (`127.0.0.1:{port}` or
    /// `localhost:{port}`): a page that rebinds its own name to 127.0.0.1 sends its name and is refused.
    pub(crate) fn host_ok(&self, headers: &HeaderMap, uri: &Uri) -> bool {
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| uri.authority().map(http::uri::Authority::as_str));
        let Some(host) = host else {
            return false;
        };
        let host = host.trim().to_ascii_lowercase();
        let port = self.port.to_string();
        matches!(host.rsplit_once(':'), Some((name, p)) if p == port && (name == "127.0.0.1" || name == "localhost"))
    }
}

/// The access check every request passes before it is routed: `Some(response)` refuses it.
///
/// Scoring (`/endpoints/…`) checks the endpoint's own keys and tokens in its handler; every other route needs the
/// server token, except the MLflow routes (a job's token too) and storage and log URLs (a valid signed query too).
pub(crate) fn check_request(app: &App, req: &Req, segs: &[&str]) -> Option<Response> {
    let auth = &app.auth;
    if !auth.host_ok(&req.headers, &req.uri) {
        let host = req.headers.get(http::header::HOST).and_then(|v| v.to_str().ok());
        tracing::warn!(host = host.unwrap_or(""), "request with a foreign Host refused");
        return Some(misdirected(host));
    }
    let first = segs.first().copied().unwrap_or("");
    if first == "endpoints" || auth.has_server_token(&req.headers) {
        return None;
    }
    if first == "mlflow"
        && let Some(job) = auth.job_of(&req.headers)
    {
        return own_run_only(req, &job);
    }
    if first == crate::blob::ACCOUNT || first == "joblogs" {
        if query_get(&req.query, "sig").is_none() {
            return Some(storage_unauthenticated(bearer(&req.headers).is_some()));
        }
        let path: Vec<String> = segs.iter().map(|s| crate::util::decode(s)).collect();
        return match auth.check_signed(&req.method, &path, &req.query) {
            Ok(()) => None,
            Err(why) => Some(crate::blob::blob_error(
                StatusCode::FORBIDDEN,
                "AuthenticationFailed",
                &format!("Server failed to authenticate the request: {why}."),
            )),
        };
    }
    Some(unauthenticated(bearer(&req.headers).is_some()))
}

/// A job's MLflow token reads anything but writes only its own run: a request body naming another run (`run_id`,
/// `run_uuid`) gets 403, so a job cannot change the metrics of the run it is compared with.
fn own_run_only(req: &Req, job: &str) -> Option<Response> {
    if req.method == Method::GET || req.method == Method::HEAD {
        return None;
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let other = ["run_id", "run_uuid"]
        .iter()
        .filter_map(|k| body.get(*k).and_then(Value::as_str))
        .find(|run| *run != job)?;
    let body = serde_json::json!({
        "error_code": "PERMISSION_DENIED",
        "message": format!("The token of job '{job}' writes only its own run, not '{other}'."),
    });
    Some((StatusCode::FORBIDDEN, axum::Json(body)).into_response())
}

fn storage_unauthenticated(present: bool) -> Response {
    if present {
        crate::blob::blob_error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request: the bearer token is not this local workspace's token.",
        )
    } else {
        crate::blob::blob_error(
            StatusCode::UNAUTHORIZED,
            "NoAuthenticationInformation",
            "Server failed to authenticate the request: send a signed URL the local workspace handed out, or \
             'Authorization: Bearer <token>' with its token (<state>/token).",
        )
    }
}

/// Whether a scoring request may score through endpoint `rec`, as Azure decides it by the endpoint's `authMode`:
/// `Key`: the endpoint's primary or secondary key; `AMLToken`: a token the endpoint's `token` action issued;
/// `AADToken`: the server token (what the local workspace's credential gives for any scope, its Entra token).
/// Tokens of the `token` action expire as its answer says (`expiryTimeUtc`, an hour).
/// Every comparison in constant time; an unknown mode authorises nothing.
pub(crate) fn scoring_authorised(auth: &ServerAuth, rec: &Value, keys: &Value, headers: &HeaderMap) -> bool {
    let Some(given) = bearer(headers) else {
        return false;
    };
    let matches = |v: &Value| v.as_str().is_some_and(|k| !k.is_empty() && secret_eq(given, k));
    let mode = rec["properties"]["authMode"].as_str().unwrap_or("Key");
    if mode.eq_ignore_ascii_case("Key") {
        // Both compared, so the time does not tell which key matched.
        let primary = matches(&keys["primaryKey"]);
        let secondary = matches(&keys["secondaryKey"]);
        primary | secondary
    } else if mode.eq_ignore_ascii_case("AMLToken") {
        // `{"token", "expiresOn"}` records (a bare string from older state never expires).
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let valid = |x: &Value| match x {
            Value::String(_) => matches(x),
            _ => matches(&x["token"]) & (x["expiresOn"].as_i64().unwrap_or(0) > now),
        };
        keys["tokens"]
            .as_array()
            .is_some_and(|t| t.iter().fold(false, |found, x| found | valid(x)))
    } else if mode.eq_ignore_ascii_case("AADToken") {
        secret_eq(given, auth.token())
    } else {
        false
    }
}

/// `421 Misdirected Request` for a foreign `Host`.
pub(crate) fn misdirected(host: Option<&str>) -> Response {
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "MisdirectedRequest",
        format!(
            "The Host '{}' is not this local workspace's address; it answers only to its own loopback address.",
            host.unwrap_or("")
        ),
    )
    .into_response()
}

/// `401` for an ARM or data-plane route without the server token.
pub(crate) fn unauthenticated(present: bool) -> Response {
    let (code, message) = if present {
        (
            "InvalidAuthenticationToken",
            "The access token is not this local workspace's token. Use the token `amlops local serve` printed (also \
             in <state>/token).",
        )
    } else {
        (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing: send 'Authorization: Bearer <token>' with \
             the token `amlops local serve` printed (also in <state>/token).",
        )
    };
    let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, code, message).into_response();
    resp.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer realm=\"amlops-local\""),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> ServerAuth {
        ServerAuth::new(4242).unwrap()
    }

    fn path(p: &str) -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn q(s: &str) -> Vec<(String, String)> {
        crate::util::parse_query(Some(s))
    }

    #[test]
    fn tokens_are_random_hex_of_32_bytes() {
        let (a, b) = (auth(), auth());
        assert_eq!(a.token().len(), 64);
        assert!(a.token().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.token(), b.token());
    }

    #[test]
    fn bearer_values() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secret_eq("abc", "abc"));
        assert!(!secret_eq("abc", "abd"));
        assert!(!secret_eq("abc", "abcd"));
        assert!(!secret_eq("", "a"));
    }

    #[test]
    fn signed_container_urls_cover_their_container_only() {
        let a = auth();
        let query = a.sign("/amlopslocal/c1", "c", "racwdl");
        assert!(
            a.check_signed(&Method::GET, &path("amlopslocal/c1/x/y.txt"), &q(&query))
                .is_ok()
        );
        assert!(
            a.check_signed(&Method::PUT, &path("amlopslocal/c1/x"), &q(&query))
                .is_ok()
        );
        let other = a.check_signed(&Method::GET, &path("amlopslocal/c2/x"), &q(&query));
        assert_eq!(other, Err("the signature does not match".into()));
        // Another server's signature is worthless here.
        assert!(
            auth()
                .check_signed(&Method::GET, &path("amlopslocal/c1/x"), &q(&query))
                .is_err()
        );
    }

    #[test]
    fn tampered_signed_urls_are_refused() {
        let a = auth();
        let query = a.sign("/joblogs/j1/user_logs/std_log.txt", "b", "r");
        let p = path("joblogs/j1/user_logs/std_log.txt");
        assert!(a.check_signed(&Method::GET, &p, &q(&query)).is_ok());
        for (from, to) in [("sp=r", "sp=rwd"), ("sr=b", "sr=c"), ("se=", "se=2099")] {
            let t = query.replacen(from, to, 1);
            assert!(a.check_signed(&Method::GET, &p, &q(&t)).is_err(), "{t}");
        }
        let flipped = {
            let (head, sig) = query.rsplit_once("sig=").unwrap();
            let last = if sig.ends_with('0') { "1" } else { "0" };
            format!("{head}sig={}{last}", &sig[..sig.len() - 1])
        };
        assert!(a.check_signed(&Method::GET, &p, &q(&flipped)).is_err());
        assert!(
            a.check_signed(
                &Method::GET,
                &path("joblogs/j2/user_logs/std_log.txt"),
                &q(&query)
            )
            .is_err()
        );
        assert!(a.check_signed(&Method::PUT, &p, &q(&query)).is_err(), "read-only");
        assert!(a.check_signed(&Method::GET, &p, &q("")).is_err());
    }

    #[test]
    fn expired_signatures_are_refused() {
        let a = auth();
        let past = OffsetDateTime::now_utc() - time::Duration::minutes(1);
        let query = a.sign_until("/amlopslocal/c1", "c", "r", past.replace_nanosecond(0).unwrap());
        let err = a
            .check_signed(&Method::GET, &path("amlopslocal/c1/b"), &q(&query))
            .unwrap_err();
        assert!(err.contains("expired"), "{err}");
    }

    #[test]
    fn job_tokens_name_their_job_and_are_checked() {
        let a = auth();
        let t = a.job_token("job-1");
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("Bearer {t}").parse().unwrap());
        assert_eq!(a.job_of(&h).as_deref(), Some("job-1"));
        assert!(!a.has_server_token(&h));
        let forged = format!("job.{}.{}", hex::encode("job-2"), t.rsplit('.').next().unwrap());
        h.insert("authorization", format!("Bearer {forged}").parse().unwrap());
        assert_eq!(a.job_of(&h), None);
    }

    #[test]
    fn scoring_credentials_follow_the_auth_mode_and_tokens_expire() {
        let a = auth();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let keys = serde_json::json!({
            "primaryKey": "pk", "secondaryKey": "sk",
            "tokens": [{"token": "fresh", "expiresOn": now + 60}, {"token": "stale", "expiresOn": now - 1}, "legacy"],
        });
        let rec = |mode: &str| serde_json::json!({"properties": {"authMode": mode}});
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("authorization", format!("Bearer {v}").parse().unwrap());
            h
        };
        let server = a.token().to_owned();
        for (mode, accepted, refused) in [
            (
                "Key",
                vec!["pk", "sk"],
                vec!["fresh", "legacy", server.as_str(), "pk2", ""],
            ),
            (
                "AMLToken",
                vec!["fresh", "legacy"],
                vec!["stale", "pk", server.as_str()],
            ),
            ("AADToken", vec![server.as_str()], vec!["pk", "fresh", "anything"]),
            ("Other", vec![], vec!["pk", "fresh", server.as_str()]),
        ] {
            for v in accepted {
                assert!(scoring_authorised(&a, &rec(mode), &keys, &with(v)), "{mode} {v}");
            }
            for v in refused {
                assert!(!scoring_authorised(&a, &rec(mode), &keys, &with(v)), "{mode} {v}");
            }
        }
        assert!(!scoring_authorised(&a, &rec("Key"), &keys, &HeaderMap::new()));
    }

    #[test]
    fn only_the_own_loopback_host_is_accepted() {
        let a = auth();
        let uri: Uri = "/x".parse().unwrap();
        let mut h = HeaderMap::new();
        assert!(!a.host_ok(&h, &uri));
        for (host, ok) in [
            ("127.0.0.1:4242", true),
            ("localhost:4242", true),
            ("LOCALHOST:4242", true),
            ("127.0.0.1:4243", false),
            ("127.0.0.1", false),
            ("attacker.example:4242", false),
            ("127.0.0.1.attacker.example:4242", false),
        ] {
            h.insert("host", host.parse().unwrap());
            assert_eq!(a.host_ok(&h, &uri), ok, "{host}");
        }
    }
}
