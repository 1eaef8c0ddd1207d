//! URL rules: [`check_url`] (`https` everywhere, `http` only to loopback hosts) and redaction ([`redact_url`]: a
//! URL safe to show in errors and logs, query values other than [`SAFE_QUERY_KEYS`] replaced).

use url::Url;

/// A URL that amlops refuses to call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// `http://` to a host that is not loopback.
    #[error(
        "refusing to call '{url}' over plain http: only https is allowed, except for loopback addresses \
         (127.0.0.0/8, ::1, localhost)"
    )]
    InsecureHttp {
        /// The URL (redacted).
        url: String,
    },
    /// Neither http nor https.
    #[error("the URL '{url}' has the unsupported scheme '{scheme}'; use https")]
    UnsupportedScheme {
        /// The URL (redacted).
        url: String,
        /// The scheme.
        scheme: String,
    },
    /// Not a URL at all.
    #[error("'{value}' is not a valid URL: {problem}")]
    Invalid {
        /// The text (query removed).
        value: String,
        /// The parser's message.
        problem: String,
    },
}

/// Whether a URL's host is loopback: 127.0.0.0/8, ::1, `localhost` or a `*.localhost` name.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// Refuse anything but `https`, except `http` to loopback.
pub fn check_url(url: &Url) -> Result<(), UrlError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(UrlError::InsecureHttp { url: redact_url(url) }),
        other => Err(UrlError::UnsupportedScheme {
            url: redact_url(url),
            scheme: other.to_string(),
        }),
    }
}

/// Parse a URL and [`check_url`] it.
pub fn parse_checked_url(value: &str) -> Result<Url, UrlError> {
    let url = Url::parse(value.trim()).map_err(|e| UrlError::Invalid {
        value: value.split('?').next().unwrap_or_default().to_string(),
        problem: e.to_string(),
    })?;
    check_url(&url)?;
    Ok(url)
}

/// Query keys whose values are shown as they are; every other value is replaced by `REDACTED` (in URLs by
/// [`redact_url`], in any text by [`crate::error::redact_body`]).
pub const SAFE_QUERY_KEYS: &[&str] = &[
    "api-version",
    "jobtype",
    "tag",
    "hash",
    "hashversion",
    "isdefault",
    "run_id",
    "metric_key",
    "comp",
    "restype",
    "blockid",
    "listviewtype",
    "orderby",
    "top",
    "$top",
    "$skip",
    "serviceconnectionid",
    "resource",
    "client_id",
];

/// Whether the value of the query key `key` may be shown ([`SAFE_QUERY_KEYS`], case-insensitively).
pub fn is_safe_query_key(key: &str) -> bool {
    SAFE_QUERY_KEYS.iter().any(|s| s.eq_ignore_ascii_case(key))
}

/// The URL with credentials removed: user info dropped, query values other than [`SAFE_QUERY_KEYS`] replaced by
/// `REDACTED` (SAS signatures, skip tokens, codes). Safe to put in errors and logs.
pub fn redact_url(url: &Url) -> String {
    let mut out = url.clone();
    let _ = out.set_username("");
    let _ = out.set_password(None);
    if out.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let safe = is_safe_query_key(&k);
                (
                    k.into_owned(),
                    if safe {
                        v.into_owned()
                    } else {
                        "REDACTED".to_string()
                    },
                )
            })
            .collect();
        if pairs.is_empty() {
            out.set_query(None);
        } else {
            out.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    out.set_fragment(None);
    out.to_string()
}

/// [`redact_url`] for text that may not parse: everything after `?` is dropped.
pub fn redact_url_str(value: &str) -> String {
    match Url::parse(value) {
        Ok(u) => redact_url(&u),
        Err(_) => value.split('?').next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn loopback_rules() {
        assert!(check_url(&url("http://127.0.0.1:8080/x")).is_ok());
        assert!(check_url(&url("http://127.5.0.1/x")).is_ok());
        assert!(check_url(&url("http://[::1]:80/x")).is_ok());
        assert!(check_url(&url("http://localhost/x")).is_ok());
        assert!(check_url(&url("https://management.azure.com/")).is_ok());
        let err = check_url(&url("http://example.org/x?sig=abc")).unwrap_err();
        assert!(matches!(err, UrlError::InsecureHttp { .. }));
        assert!(!err.to_string().contains("abc"));
        assert!(matches!(
            check_url(&url("ftp://localhost/")),
            Err(UrlError::UnsupportedScheme { .. })
        ));
        assert!(check_url(&url("http://128.0.0.1/")).is_err());
    }

    #[test]
    fn redaction_keeps_safe_keys_only() {
        let u = url(
            "https://u:p@acct.blob.core.windows.net/c/b?sv=2020&sig=SECRET%2B&api-version=2026-07-01&comp=block",
        );
        let r = redact_url(&u);
        assert!(!r.contains("SECRET"));
        assert!(!r.contains("u:p"));
        assert!(r.contains("api-version=2026-07-01"));
        assert!(r.contains("comp=block"));
        assert!(r.contains("sig=REDACTED"));
        assert_eq!(redact_url_str("not a url?sig=x"), "not a url");
    }
}
