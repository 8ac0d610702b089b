//! Eureka discovery: the instances a Netflix or Spring Cloud Eureka registry lists for an
//! application, fetched once, blocking, before the run (never inside the engine).
//!
//! Services behind a Eureka registry have no stable host to hand to `tcpgoon run`: their
//! instances come and go, and the registry is the one place that knows them. This module asks it,
//! once: [`fetch`] sends `GET {base}/apps/{APP}` (JSON, gzip accepted, credentials from the URL,
//! the whole exchange bounded by a timeout), [`parse_application`] reads the answer as both
//! servers write it (and as older ones did: a lone instance as an object, ports as strings), and
//! [`select`] keeps the instances worth testing, saying why each other one was skipped. Every
//! failure is an [`EurekaError`] whose message is one line naming the problem and the fix, with
//! the registry's URL redacted: the credentials in `--eureka` never appear in any message. The
//! server behaviour this follows is in `docs/research/eureka.md`. Nothing here prints.

// `app` does not call this module yet (issue 9 wires it in); until then only the tests do.
#![allow(dead_code)]

use std::time::Instant;

use serde_json::{Map, Value};

use crate::config::{redact_url, EurekaAddress, EurekaConfig, EurekaPort};

/// The most bytes of an answer read (a large application lists a few MiB).
const MAX_BODY: u64 = 64 << 20;

/// The most redirects followed before the registry counts as not ready.
const MAX_REDIRECTS: usize = 5;

/// A port of an instance as listed: `{"$": 8080, "@enabled": "true"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// The port number (`$`).
    pub number: u16,
    /// `@enabled` (true when absent).
    pub enabled: bool,
}

/// One instance as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `instanceId`; when absent, `hostName:app:port` as the Spring Cloud client builds it
    /// (`hostName:app` without a port).
    pub instance_id: String,
    /// `app` (the application's name when absent).
    pub app: String,
    /// `hostName`; empty when absent.
    pub host_name: String,
    /// `ipAddr`; empty when absent.
    pub ip_addr: String,
    /// `status` as listed (`UP`, `DOWN`, `STARTING`, `OUT_OF_SERVICE`, `UNKNOWN`, anything else
    /// kept as is); `UNKNOWN` when absent.
    pub status: String,
    /// `port`.
    pub port: Option<Port>,
    /// `securePort`.
    pub secure_port: Option<Port>,
}

/// `application` of `GET {base}/apps/{APP}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// `name` (upper-case on real servers; empty when absent).
    pub name: String,
    /// Every instance listed, in order.
    pub instances: Vec<Instance>,
}

/// An instance to test, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The instance as listed.
    pub instance: Instance,
    /// The address dialed: its `ipAddr` or `hostName` (per `--eureka-address`).
    pub host: String,
    /// The port dialed: its `port` or `securePort` (per `--eureka-port`).
    pub port: u16,
}

/// An instance not tested, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The instance as listed.
    pub instance: Instance,
    /// Why, in a few words: "status DOWN", "securePort not enabled", "no ipAddr".
    pub reason: String,
}

/// What [`select`] kept of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The application's name as listed (the upper-cased `--app` when the registry gave none).
    pub app: String,
    /// The instances to test, in the registry's order (never empty).
    pub chosen: Vec<Chosen>,
    /// The instances left out, in the registry's order.
    pub skipped: Vec<Skipped>,
}

/// Why the registry gave no instance to test. Every message is one line that names the problem
/// and the fix; `url` is always the redacted URL (no credentials).
#[derive(Debug, thiserror::Error)]
pub enum EurekaError {
    /// The `--eureka` URL cannot be used as given.
    #[error("the --eureka URL {url} is not usable: {why}")]
    BadUrl {
        /// The registry's URL, redacted.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// No connection: refused, no route, a name that does not resolve.
    #[error("cannot reach the Eureka registry at {url}: {why}; check --eureka")]
    Unreachable {
        /// The registry's URL, redacted.
        url: String,
        /// The cause, as the system gave it.
        why: String,
    },
    /// No complete answer within the timeout.
    #[error("the Eureka registry at {url} did not answer within {timeout} (--eureka-timeout)")]
    Timeout {
        /// The registry's URL, redacted.
        url: String,
        /// The timeout, as a duration (`3s`, `300ms`).
        timeout: String,
    },
    /// The TLS handshake failed: an unverifiable certificate, or no TLS on that port.
    #[error(
        "TLS with the Eureka registry at {url} failed: {why}; check the URL's scheme and the \
         registry's certificate (--eureka-insecure skips the check: for a test registry only)"
    )]
    Tls {
        /// The registry's URL, redacted.
        url: String,
        /// The cause, as rustls gave it.
        why: String,
    },
    /// 404: the registry lists no such application.
    #[error(
        "the registry at {url} knows no application {app} (names are upper-cased); check --app \
         (and that --eureka is the registry's base URL, such as http://host:8761/eureka)"
    )]
    NoSuchApp {
        /// The registry's URL, redacted.
        url: String,
        /// The application's name as asked (upper-cased).
        app: String,
    },
    /// 403: the registry refuses reads (a lone Netflix server does, for about five minutes
    /// after its startup, while its peers are empty).
    #[error(
        "the Eureka registry at {url} is not ready (403): a lone Netflix server refuses reads for \
         about 5 minutes after startup when its peers are empty; retry later, or set \
         eureka.server.wait-time-in-ms-when-sync-empty=0 on the registry"
    )]
    NotReady {
        /// The registry's URL, redacted.
        url: String,
    },
    /// A redirect (307 and others) with nowhere usable to go: the registry is not UP yet.
    #[error(
        "the Eureka registry at {url} answered {status} without a usable redirect: it is not UP \
         yet; retry when it is"
    )]
    NotUp {
        /// The registry's URL, redacted.
        url: String,
        /// The 3xx status.
        status: u16,
    },
    /// 401: credentials missing or wrong.
    #[error(
        "the Eureka registry at {url} answered 401: credentials are missing or wrong; put \
         user:password@ in the --eureka URL"
    )]
    Unauthorized {
        /// The registry's URL, redacted.
        url: String,
    },
    /// 406: the registry wants gzip (tcpgoon asks for it, so something in between dropped it).
    #[error(
        "the Eureka registry at {url} answered 406 (it wants gzip), although tcpgoon accepts \
         gzip; a proxy in between may drop Accept-Encoding"
    )]
    NotAcceptable {
        /// The registry's URL, redacted.
        url: String,
    },
    /// Any other status.
    #[error(
        "the Eureka registry at {url} answered HTTP {status} for application {app}{detail}; check \
         --eureka and the registry's log"
    )]
    Status {
        /// The registry's URL, redacted.
        url: String,
        /// The application's name as asked (upper-cased).
        app: String,
        /// The HTTP status.
        status: u16,
        /// `: ` and the first line of the body, short, or nothing.
        detail: String,
    },
    /// An answer that is not the expected JSON.
    #[error(
        "the Eureka registry at {url} answered with no application: {why}; check that --eureka \
         is the registry's base URL (such as http://host:8761/eureka or .../eureka/v2)"
    )]
    Malformed {
        /// The registry's URL, redacted.
        url: String,
        /// What is wrong, in one short phrase.
        why: String,
    },
    /// The registry lists the application, but no instance is left to test.
    #[error(
        "no instance of {app} to test at {url}: {why}; check --eureka-address, --eureka-port and \
         the statuses tested"
    )]
    NoInstance {
        /// The registry's URL, redacted.
        url: String,
        /// The application's name.
        app: String,
        /// How many were skipped and why, in a few words.
        why: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Parses the JSON body of `GET {base}/apps/{APP}`. Never panics on any input. Accepts
/// `instance` as an array or as a single object (older servers), or missing / `[]` (no
/// instances); `$` as a JSON number or a string of digits (or a port as a bare number); `@enabled`
/// as `"true"`/`"false"` (any case) or a bool, missing meaning enabled; `null` as absent. Errors
/// are one short phrase saying what is wrong ("not JSON: …", "an XML document, not JSON",
/// "no `application` object", "instance 2: port `$` is \"x\", not a port number", …).
pub fn parse_application(body: &[u8]) -> Result<Application, String> {
    let text = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        return Err("an XML document, not JSON".to_string());
    }
    if first.is_none() {
        return Err("an empty body, not JSON".to_string());
    }
    let root: Value = serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(root) = root.as_object() else {
        return Err(format!("{}, not an object", short(&root)));
    };
    let app = match root.get("application") {
        Some(Value::Object(app)) => app,
        Some(other) => return Err(format!("`application` is {}, not an object", short(other))),
        None if root.contains_key("applications") => {
            return Err("the list of every application (`applications`), not one".to_string())
        }
        None => return Err("no `application` object".to_string()),
    };
    let name = opt_string(app, "name").map_err(|e| format!("application {e}"))?;
    let name = name.unwrap_or_default();
    let listed: Vec<&Value> = match app.get("instance") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(all)) => all.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(other) => {
            return Err(format!(
                "`instance` is {}, not a list of instances",
                short(other)
            ))
        }
    };
    let mut instances = Vec::with_capacity(listed.len());
    for (k, value) in listed.into_iter().enumerate() {
        let n = k + 1;
        let Some(fields) = value.as_object() else {
            return Err(format!("instance {n}: {}, not an object", short(value)));
        };
        instances.push(parse_instance(fields, &name).map_err(|e| format!("instance {n}: {e}"))?);
    }
    Ok(Application { name, instances })
}

/// One instance's fields; `app_name` stands in for a missing `app`.
fn parse_instance(fields: &Map<String, Value>, app_name: &str) -> Result<Instance, String> {
    let host_name = opt_string(fields, "hostName")?.unwrap_or_default();
    let ip_addr = opt_string(fields, "ipAddr")?.unwrap_or_default();
    let app = opt_string(fields, "app")?.unwrap_or_else(|| app_name.to_string());
    let status = opt_string(fields, "status")?.unwrap_or_else(|| "UNKNOWN".to_string());
    let port = parse_port(fields, "port")?;
    let secure_port = parse_port(fields, "securePort")?;
    let instance_id = match opt_string(fields, "instanceId")? {
        Some(id) if !id.is_empty() => id,
        _ => match port {
            Some(p) => format!("{host_name}:{app}:{}", p.number),
            None => format!("{host_name}:{app}"),
        },
    };
    Ok(Instance {
        instance_id,
        app,
        host_name,
        ip_addr,
        status,
        port,
        secure_port,
    })
}

/// A string field: `None` when absent or null, an error when of another type.
fn opt_string(fields: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{key}` is {}, not a string", short(other))),
    }
}

/// `port` or `securePort`: `{"$": N, "@enabled": "true"}`, or a bare number as a lenient
/// fallback.
fn parse_port(fields: &Map<String, Value>, key: &str) -> Result<Option<Port>, String> {
    let (number, enabled) = match fields.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(port)) => {
            let number = match port.get("$") {
                None | Some(Value::Null) => return Err(format!("{key} has no `$`")),
                Some(n) => n,
            };
            let enabled = match port.get("@enabled") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
                Some(other) => {
                    return Err(format!(
                        "{key} `@enabled` is {}, not true or false",
                        short(other)
                    ))
                }
            };
            (number, enabled)
        }
        Some(bare @ (Value::Number(_) | Value::String(_))) => (bare, true),
        Some(other) => return Err(format!("`{key}` is {}, not a port", short(other))),
    };
    let Some(number) = port_number(number) else {
        return Err(format!("{key} `$` is {}, not a port number", short(number)));
    };
    Ok(Some(Port { number, enabled }))
}

/// A port number as a JSON number (an integer, possibly written `8080.0`) or a string of digits.
fn port_number(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return u16::try_from(u).ok();
            }
            let f = n.as_f64()?;
            (f.fract() == 0.0 && (0.0..=65535.0).contains(&f)).then_some(f as u16)
        }
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
        _ => None,
    }
}

/// A JSON value as it would be written, cut to a few dozen characters for a message.
fn short(value: &Value) -> String {
    let text = value.to_string();
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

// ---------------------------------------------------------------------------------------------
// Selection

/// The instances to test: those whose status is in `config.statuses` (compared without regard
/// to case) and that have the address (`ipAddr` or `hostName` per `config.address`) and an
/// enabled, non-zero port (`port` or `securePort` per `config.port`). The others are skipped,
/// each with its reason ("status DOWN", "securePort not enabled", "no ipAddr"). An
/// [`EurekaError::NoInstance`] when nothing is left, naming how many were skipped and why.
pub fn select(app: Application, config: &EurekaConfig) -> Result<Selection, EurekaError> {
    let name = if app.name.is_empty() {
        config.app.to_uppercase()
    } else {
        app.name
    };
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for instance in app.instances {
        match pick(&instance, config) {
            Ok((host, port)) => chosen.push(Chosen {
                instance,
                host,
                port,
            }),
            Err(reason) => skipped.push(Skipped { instance, reason }),
        }
    }
    if chosen.is_empty() {
        return Err(EurekaError::NoInstance {
            url: config.redacted_url(),
            app: name,
            why: skipped_summary(&skipped),
        });
    }
    Ok(Selection {
        app: name,
        chosen,
        skipped,
    })
}

/// Where one instance is dialed, or why it is not.
fn pick(instance: &Instance, config: &EurekaConfig) -> Result<(String, u16), String> {
    let status = instance.status.trim();
    if !config
        .statuses
        .iter()
        .any(|s| s.trim().eq_ignore_ascii_case(status))
    {
        return Err(format!("status {}", instance.status));
    }
    let (host, host_key) = match config.address {
        EurekaAddress::Ip => (&instance.ip_addr, "ipAddr"),
        EurekaAddress::Hostname => (&instance.host_name, "hostName"),
    };
    let host = host.trim();
    if host.is_empty() {
        return Err(format!("no {host_key}"));
    }
    let (port, port_key) = match config.port {
        EurekaPort::Port => (instance.port, "port"),
        EurekaPort::Secure => (instance.secure_port, "securePort"),
    };
    match port {
        None => Err(format!("no {port_key}")),
        Some(p) if !p.enabled => Err(format!("{port_key} not enabled")),
        Some(p) if p.number == 0 => Err(format!("{port_key} is 0")),
        Some(p) => Ok((host.to_string(), p.number)),
    }
}

/// "the registry lists none" or "all 3 instances listed are skipped: 2 status DOWN, 1 no ipAddr" (reasons by count,
/// most frequent first, then in order of appearance).
fn skipped_summary(skipped: &[Skipped]) -> String {
    if skipped.is_empty() {
        return "the registry lists none".to_string();
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in skipped {
        match counts.iter_mut().find(|(r, _)| *r == s.reason) {
            Some((_, n)) => *n += 1,
            None => counts.push((&s.reason, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let reasons: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let all = match skipped.len() {
        1 => "the only instance listed is skipped".to_string(),
        n => format!("all {n} instances listed are skipped"),
    };
    format!("{all}: {}", reasons.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Fetching

/// `GET {base}/apps/{APP}` once, blocking, with `Accept: application/json` and
/// `Accept-Encoding: gzip` (a gzip body is decoded even when not asked for), the app name
/// upper-cased and percent-encoded in the path, the base URL's trailing `/` trimmed, basic auth
/// from the URL's `user:password@` sent as an `Authorization` header (the URL handed to the HTTP
/// client carries no credentials), https via rustls with certificates verified unless
/// `config.insecure`, redirects followed (at most 5, credentials only to the same origin), the
/// whole exchange bounded by `config.timeout`.
pub fn fetch(config: &EurekaConfig) -> Result<Application, EurekaError> {
    let url = config.redacted_url();
    let app = config.app.trim().to_uppercase();
    let base = BaseUrl::parse(&config.url).map_err(|why| EurekaError::BadUrl {
        url: url.clone(),
        why,
    })?;
    if app.is_empty() {
        return Err(EurekaError::BadUrl {
            url,
            why: "no application name to ask for (--app)".to_string(),
        });
    }
    let auth = base.authorization();
    let deadline = Instant::now() + config.timeout;
    let timeout_error = || EurekaError::Timeout {
        url: url.clone(),
        timeout: humantime::format_duration(config.timeout).to_string(),
    };
    let agent = agent(config);
    let first = format!("{}/apps/{}", base.clean, percent_encode(&app));
    let origin = origin_of(&first).to_ascii_lowercase();
    let mut target = first;
    let mut hops = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timeout_error());
        }
        let mut request = agent.get(&target);
        if let Some(auth) = &auth {
            if origin_of(&target).eq_ignore_ascii_case(&origin) {
                request = request.header("Authorization", auth.as_str());
            }
        }
        let mut response = request
            .config()
            .timeout_global(Some(left))
            .build()
            .call()
            .map_err(|e| classify(e, config, &base))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => {
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_vec()
                    .map_err(|e| classify(e, config, &base))?;
                return parse_application(&body).map_err(|why| EurekaError::Malformed {
                    url: url.clone(),
                    why: scrub(&why, config),
                });
            }
            300..=399 => {
                let next = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| resolve_location(&target, loc));
                match next {
                    Some(next) if hops < MAX_REDIRECTS => {
                        hops += 1;
                        target = next;
                    }
                    _ => return Err(EurekaError::NotUp { url, status }),
                }
            }
            401 => return Err(EurekaError::Unauthorized { url }),
            403 => return Err(EurekaError::NotReady { url }),
            404 => return Err(EurekaError::NoSuchApp { url, app }),
            406 => return Err(EurekaError::NotAcceptable { url }),
            _ => {
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(64 << 10)
                    .read_to_vec()
                    .unwrap_or_default();
                return Err(EurekaError::Status {
                    url,
                    app,
                    status,
                    detail: body_detail(&body, config, auth.as_deref()),
                });
            }
        }
    }
}

/// The HTTP client for one fetch: statuses and redirects are ours to handle, TLS verified
/// unless `--eureka-insecure`.
fn agent(config: &EurekaConfig) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(config.insecure)
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .accept("application/json")
        .accept_encoding("gzip")
        .user_agent(concat!("tcpgoon/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(config.timeout))
        .tls_config(tls)
        .build()
        .new_agent()
}

/// A ureq error as one of ours, its text scrubbed of credentials.
fn classify(e: ureq::Error, config: &EurekaConfig, base: &BaseUrl) -> EurekaError {
    let url = config.redacted_url();
    let timeout = || EurekaError::Timeout {
        url: url.clone(),
        timeout: humantime::format_duration(config.timeout).to_string(),
    };
    let why = |text: String| scrub(&text, config);
    match e {
        ureq::Error::Timeout(_) => timeout(),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => timeout(),
            // rustls reports a failed handshake (a bad certificate, a peer speaking no TLS) as
            // invalid data on the stream.
            std::io::ErrorKind::InvalidData if base.https => EurekaError::Tls {
                url,
                why: why(io.to_string()),
            },
            _ => EurekaError::Unreachable {
                url,
                why: why(io.to_string()),
            },
        },
        ureq::Error::HostNotFound => EurekaError::Unreachable {
            url,
            why: "the host name does not resolve".to_string(),
        },
        ureq::Error::ConnectionFailed => EurekaError::Unreachable {
            url,
            why: "the connection failed".to_string(),
        },
        ureq::Error::Tls(t) => EurekaError::Tls {
            url,
            why: why(t.to_string()),
        },
        ureq::Error::Rustls(r) => EurekaError::Tls {
            url,
            why: why(r.to_string()),
        },
        ureq::Error::Pem(p) => EurekaError::Tls {
            url,
            why: why(p.to_string()),
        },
        ureq::Error::BadUri(u) => EurekaError::BadUrl {
            url,
            why: why(format!("bad URI {u}")),
        },
        ureq::Error::Decompress(_, io) => EurekaError::Malformed {
            url,
            why: why(format!("a gzip body that does not decode ({io})")),
        },
        ureq::Error::BodyExceedsLimit(_) => EurekaError::Malformed {
            url,
            why: format!("a body larger than {} MiB", MAX_BODY >> 20),
        },
        ureq::Error::Protocol(p) => EurekaError::Malformed {
            url,
            why: why(format!("not an HTTP answer ({p})")),
        },
        ureq::Error::LargeResponseHeader(..) => EurekaError::Malformed {
            url,
            why: "response headers too large".to_string(),
        },
        other => EurekaError::Unreachable {
            url,
            why: why(other.to_string()),
        },
    }
}

/// The `--eureka` URL taken apart: without credentials, its trailing `/` trimmed, and the
/// credentials percent-decoded.
#[derive(Debug, PartialEq, Eq)]
struct BaseUrl {
    /// `scheme://host[:port]/path` with no user information and no trailing `/`.
    clean: String,
    /// `https`.
    https: bool,
    /// `user` and `password` of `user:password@`, percent-decoded.
    credentials: Option<(String, String)>,
}

impl BaseUrl {
    fn parse(url: &str) -> Result<BaseUrl, String> {
        let url = url.trim();
        let Some(i) = url.find("://") else {
            return Err("it must start with http:// or https://".to_string());
        };
        let scheme = url[..i].to_ascii_lowercase();
        let https = match scheme.as_str() {
            "http" => false,
            "https" => true,
            _ => return Err("it must start with http:// or https://".to_string()),
        };
        let rest = &url[i + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (credentials, rest) = match rest[..authority_end].rfind('@') {
            Some(at) => {
                let userinfo = &rest[..at];
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (
                    Some((percent_decode(user), percent_decode(password))),
                    &rest[at + 1..],
                )
            }
            None => (None, rest),
        };
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if rest[..host_end].is_empty() {
            return Err("it names no host".to_string());
        }
        if rest.contains(['?', '#']) {
            return Err("a base URL takes no query or fragment".to_string());
        }
        let clean = format!("{scheme}://{}", rest.trim_end_matches('/'));
        Ok(BaseUrl {
            clean,
            https,
            credentials,
        })
    }

    /// `Basic base64(user:password)`, when the URL carries credentials.
    fn authorization(&self) -> Option<String> {
        use base64::Engine as _;
        let (user, password) = self.credentials.as_ref()?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {token}"))
    }
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> &str {
    let Some(i) = url.find("://") else {
        return url;
    };
    let end = url[i + 3..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |e| i + 3 + e);
    &url[..end]
}

/// Where a `Location` header leads from `current`: an absolute http(s) URL, an absolute path,
/// or a path relative to the current one; `None` when it is none of these.
fn resolve_location(current: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() {
        return None;
    }
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(location.to_string());
    }
    if location.contains("://") {
        return None;
    }
    if let Some(rest) = location.strip_prefix("//") {
        let scheme_end = current.find("://")?;
        return Some(format!("{}://{rest}", &current[..scheme_end]));
    }
    let origin = origin_of(current);
    if location.starts_with('/') {
        return Some(format!("{origin}{location}"));
    }
    let path = &current[origin.len()..];
    let dir = path.rfind('/').map_or("/", |k| &path[..=k]);
    Some(format!("{origin}{dir}{location}"))
}

/// Every byte but the unreserved ones (RFC 3986) as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` sequences decoded (invalid ones kept as written); invalid UTF-8 replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |k: usize| bytes.get(k).and_then(|b| char::from(*b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits make at most 255.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with anything of the URL's credentials replaced: the URL itself, its user information,
/// and the user name and password (raw and decoded) when they are long enough to be told apart
/// from ordinary words.
fn scrub(text: &str, config: &EurekaConfig) -> String {
    let raw = config.url.trim();
    let mut out = text.replace(raw, &redact_url(raw));
    let Some(after) = raw.find("://").map(|i| &raw[i + 3..]) else {
        return out;
    };
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let Some(at) = after[..authority_end].rfind('@') else {
        return out;
    };
    let userinfo = &after[..at];
    out = out.replace(&format!("{userinfo}@"), "***@");
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    for secret in [
        password.to_string(),
        percent_decode(password),
        user.to_string(),
        percent_decode(user),
    ] {
        if secret.chars().count() >= 3 {
            out = out.replace(&secret, "***");
        }
    }
    out
}

/// `: ` and the first non-empty line of an error body, cut short; nothing when the body is empty
/// or holds anything of the credentials.
fn body_detail(body: &[u8], config: &EurekaConfig, auth: Option<&str>) -> String {
    let text = String::from_utf8_lossy(body);
    let Some(line) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return String::new();
    };
    let line: String = line.chars().filter(|c| !c.is_control()).take(100).collect();
    if let Ok(base) = BaseUrl::parse(&config.url) {
        if let Some((user, password)) = &base.credentials {
            let token = auth.and_then(|a| a.strip_prefix("Basic ")).unwrap_or("");
            let leaks = [password.as_str(), user.as_str(), token]
                .iter()
                .any(|s| !s.is_empty() && line.contains(s));
            if leaks {
                return String::new();
            }
        }
    }
    format!(": {}", scrub(&line, config))
}
