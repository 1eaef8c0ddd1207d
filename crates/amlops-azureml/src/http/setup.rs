//! Building the shared `reqwest` client: [`build_client`] / [`build_client_with`] (proxy with credentials and
//! bypass rules, system roots plus the `SSL_CERT_FILE` bundle, `User-Agent`, timeouts, same-origin redirects) and
//! its [`HttpSetupError`].

use std::net::IpAddr;
use std::time::Duration;

use amlops_agent::NetworkSettings;
use url::Url;

use super::USER_AGENT;
use super::urls::{UrlError, check_url, is_loopback, redact_url, redact_url_str};

/// Errors building the client or using a URL.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// The CA bundle named by `SSL_CERT_FILE` cannot be read or parsed.
    #[error("the CA bundle '{path}' (SSL_CERT_FILE) cannot be used: {problem}")]
    CaBundle {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The proxy URL is invalid.
    #[error("the proxy URL '{url}' is invalid: {problem}")]
    Proxy {
        /// The proxy URL (credentials removed).
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// A bypass regular expression is invalid.
    #[error(
        "the proxy bypass pattern '{pattern}' (AGENT_PROXYBYPASSLIST) is not a valid regular expression: {problem}"
    )]
    BypassPattern {
        /// The pattern.
        pattern: String,
        /// The parser's message.
        problem: String,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
    /// A URL that is not allowed.
    #[error(transparent)]
    Url(#[from] UrlError),
}

/// Options of [`build_client_with`] beyond the network settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Time to establish a connection. Default 30 s.
    pub connect_timeout: Duration,
    /// Longest wait for any read (headers or a body chunk). Default 300 s.
    pub read_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(300),
        }
    }
}

/// Build the shared client from the agent's network settings with [`ClientOptions::default`].
pub fn build_client(settings: &NetworkSettings) -> Result<reqwest::Client, HttpSetupError> {
    build_client_with(settings, &ClientOptions::default())
}

/// Build the shared client.
///
/// - Proxy: `proxy_url` (with `proxy_username`/`proxy_password` as Basic proxy credentials, or credentials in the
///   URL) for every request except loopback and link-local hosts, URLs matching a `proxy_bypass_regexes` pattern
///   (matched case-insensitively against the whole URL, as the agent does) and hosts matching `no_proxy`
///   (`*`, `host`, `.domain`/`domain` suffixes, IP addresses). The process environment is not read.
/// - TLS: the system's CA store plus every certificate of the PEM bundle `ca_bundle` (`SSL_CERT_FILE`).
/// - `User-Agent: amlops/<version>`; redirects are followed (at most 10) on the same origin only (scheme, host,
///   port: a request's secret headers never follow it to another host), never to a URL [`check_url`] refuses.
pub fn build_client_with(
    settings: &NetworkSettings,
    options: &ClientOptions,
) -> Result<reqwest::Client, HttpSetupError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .tls_built_in_native_certs(true)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else if let Err(e) = check_url(attempt.url()) {
                attempt.error(e)
            } else if let Some(from) = attempt.previous().last()
                && from.origin() != attempt.url().origin()
            {
                // Secret headers of our own (x-azureml-token, aeg-sas-key) would go with it: reqwest drops only
                // Authorization and cookies on a redirect to another host.
                let e = format!(
                    "not following the redirect from '{}' to '{}': it leaves the host, and the request's keys and \
                     tokens would go with it",
                    redact_url(from),
                    redact_url(attempt.url())
                );
                attempt.error(e)
            } else {
                attempt.follow()
            }
        }));
    if let Some(path) = &settings.ca_bundle {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| HttpSetupError::CaBundle {
            path: shown.clone(),
            problem: e.to_string(),
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| HttpSetupError::CaBundle {
            path: shown.clone(),
            problem: e.to_string(),
        })?;
        if certs.is_empty() {
            return Err(HttpSetupError::CaBundle {
                path: shown,
                problem: "it holds no PEM certificate".into(),
            });
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    match settings
        .proxy_url
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => {
            let proxy_url = Url::parse(raw).map_err(|e| HttpSetupError::Proxy {
                url: redact_url_str(raw)
                    .split('@')
                    .next_back()
                    .unwrap_or_default()
                    .to_string(),
                problem: e.to_string(),
            })?;
            let rules = BypassRules::new(&settings.proxy_bypass_regexes, settings.no_proxy.as_deref())?;
            let mut target = proxy_url.clone();
            let _ = target.set_username("");
            let _ = target.set_password(None);
            let url_user = (!proxy_url.username().is_empty()).then(|| {
                (
                    percent_decode(proxy_url.username()),
                    proxy_url.password().map(percent_decode).unwrap_or_default(),
                )
            });
            let fixed = target.clone();
            let mut proxy = reqwest::Proxy::custom(move |url| (!rules.bypass(url)).then(|| fixed.clone()));
            let user = settings.proxy_username.as_deref().filter(|u| !u.is_empty());
            if let Some(user) = user {
                proxy = proxy.basic_auth(user, settings.proxy_password.as_deref().unwrap_or(""));
            } else if let Some((user, pass)) = url_user {
                proxy = proxy.basic_auth(&user, &pass);
            }
            tracing::debug!(proxy = %target, "using a proxy");
            builder = builder.proxy(proxy);
        }
        None => builder = builder.no_proxy(),
    }
    builder.build().map_err(|e| HttpSetupError::Client(e.to_string()))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Which URLs skip the proxy.
#[derive(Debug, Clone)]
struct BypassRules {
    regexes: Vec<regex::Regex>,
    no_proxy: Vec<String>,
    all: bool,
}

impl BypassRules {
    fn new(patterns: &[String], no_proxy: Option<&str>) -> Result<Self, HttpSetupError> {
        let regexes = patterns
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                regex::RegexBuilder::new(p.trim())
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| HttpSetupError::BypassPattern {
                        pattern: p.clone(),
                        problem: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let entries: Vec<String> = no_proxy
            .unwrap_or_default()
            .split([',', ' '])
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        let all = entries.iter().any(|e| e == "*");
        Ok(Self {
            regexes,
            no_proxy: entries,
            all,
        })
    }

    fn bypass(&self, url: &Url) -> bool {
        if self.all || is_loopback(url) {
            return true;
        }
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) => {
                if ip.is_link_local() {
                    return true; // the instance metadata service
                }
                ip.to_string()
            }
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
            None => return false,
        };
        if self.regexes.iter().any(|r| r.is_match(url.as_str())) {
            return true;
        }
        self.no_proxy.iter().any(|entry| {
            // Entries may carry a port (`host:8080`); compare the host part.
            let entry = entry.trim_start_matches("*.");
            let entry_host = if entry.parse::<IpAddr>().is_ok() {
                entry
            } else {
                entry.rsplit_once(':').map_or(entry, |(h, _)| h)
            };
            let domain = entry_host.trim_start_matches('.');
            host == domain || host.ends_with(&format!(".{domain}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn bypass_rules() {
        let rules = BypassRules::new(
            &["^https?://.*\\.internal\\.corp".to_string()],
            Some("example.com, .contoso.net,10.1.2.3"),
        )
        .unwrap();
        assert!(rules.bypass(&url("http://localhost:1/")));
        assert!(rules.bypass(&url("http://169.254.169.254/metadata")));
        assert!(rules.bypass(&url("https://svc.internal.corp/x")));
        assert!(rules.bypass(&url("https://example.com/x")));
        assert!(rules.bypass(&url("https://a.example.com/x")));
        assert!(rules.bypass(&url("https://b.contoso.net/x")));
        assert!(rules.bypass(&url("https://10.1.2.3/x")));
        assert!(!rules.bypass(&url("https://management.azure.com/")));
        assert!(!rules.bypass(&url("https://notexample.com/")));
        assert!(BypassRules::new(&["(".to_string()], None).is_err());
    }
}
