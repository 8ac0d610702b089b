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
    /// Why it cannot be tested, when a field could not be read (a port that is no number):
    /// it is skipped with this reason, the others are still tested.
    pub invalid: Option<String>,
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
    /// `--eureka-ca FILE` cannot be used.
    #[error("--eureka-ca {path}: {why} (for the registry at {url})")]
    Ca {
        /// The registry's URL, redacted.
        url: String,
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
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
         --eureka-status"
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
        // One unreadable instance is skipped with its reason, never the whole application.
        let parsed = match value.as_object() {
            Some(fields) => parse_instance(fields, &name).map_err(|e| (Some(fields), e)),
            None => Err((None, format!("{}, not an object", short(value)))),
        };
        instances.push(parsed.unwrap_or_else(|(fields, why)| unreadable(n, fields, &name, why)));
    }
    Ok(Application { name, instances })
}

/// What can be told of instance `n` that cannot be read: its id, names and status where they
/// are strings, and why it cannot be tested.
fn unreadable(n: usize, fields: Option<&Map<String, Value>>, app: &str, why: String) -> Instance {
    let text = |key: &str| {
        fields
            .and_then(|f| opt_string(f, key).ok().flatten())
            .unwrap_or_default()
    };
    let id = text("instanceId");
    Instance {
        instance_id: if id.is_empty() {
            format!("instance {n}")
        } else {
            id
        },
        app: app.to_string(),
        host_name: text("hostName"),
        ip_addr: text("ipAddr"),
        status: text("status"),
        port: None,
        secure_port: None,
        invalid: Some(format!("instance {n}: {why}")),
    }
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
        invalid: None,
    })
}

/// A string field: `None` when absent or null, an error when of another type.
fn opt_string(fields: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        // Shown on terminals: control characters escaped, never sent as they are.
        Some(Value::String(s)) => Ok(Some(printable(s))),
        Some(other) => Err(format!("`{key}` is {}, not a string", short(other))),
    }
}

/// `s` with its control characters escaped (`\u{1b}`), the rest as it is.
fn printable(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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
    if let Some(why) = &instance.invalid {
        return Err(format!("unreadable: {why}"));
    }
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
    if config.address == EurekaAddress::Ip && host.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("ipAddr {host:?} is not an IP address"));
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
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
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
    let roots = config
        .ca
        .as_deref()
        .map(|path| trusted_roots(path, &url))
        .transpose()?;
    let agent = agent(config, base.is_loopback(), roots);
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
                    Some(_) => {
                        return Err(EurekaError::Status {
                            url,
                            app,
                            status,
                            detail: format!(
                                " (a redirect loop: more than {MAX_REDIRECTS} redirects)"
                            ),
                        })
                    }
                    None => return Err(EurekaError::NotUp { url, status }),
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
/// unless `--eureka-insecure`, the environment's proxy used unless the registry is on loopback.
fn agent(
    config: &EurekaConfig,
    loopback: bool,
    roots: Option<ureq::tls::RootCerts>,
) -> ureq::Agent {
    let mut tls = ureq::tls::TlsConfig::builder().disable_verification(config.insecure);
    if let Some(roots) = roots {
        tls = tls.root_certs(roots);
    }
    let tls = tls.build();
    let builder = ureq::Agent::config_builder();
    // A proxy from the environment (HTTP_PROXY, ...) never gets a registry on this machine.
    let builder = if loopback {
        builder.proxy(None)
    } else {
        builder
    };
    builder
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

/// The certificates of `--eureka-ca FILE`, to trust instead of the built-in roots.
fn trusted_roots(path: &std::path::Path, url: &str) -> Result<ureq::tls::RootCerts, EurekaError> {
    let fail = |why: String| EurekaError::Ca {
        url: url.to_string(),
        path: path.display().to_string(),
        why,
    };
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(fail(format!("not PEM ({e})"))),
        }
    }
    if certs.is_empty() {
        return Err(fail(
            "no certificate in it (give the CA's PEM: -----BEGIN CERTIFICATE-----)".to_string(),
        ));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// rustls's words for a refused certificate, and what they mean to a user.
fn tls_reason(text: String) -> String {
    let plain = if text.contains("UnknownIssuer") {
        "the certificate is not signed by an authority this machine trusts (self-signed, or a \
         private CA: give the CA with --eureka-ca FILE)"
    } else if text.contains("CaUsedAsEndEntity") {
        "the registry presents a CA certificate (CA:TRUE) as its own: give it a server \
         certificate signed by that CA, and the CA to --eureka-ca FILE"
    } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
        "the registry answered without TLS: is it an http:// port?"
    } else if text.contains("NotValidForName") {
        "the certificate is not valid for this host name"
    } else if text.contains("Expired") {
        "the certificate has expired"
    } else if text.contains("NotValidYet") {
        "the certificate is not valid yet (check this machine's clock)"
    } else {
        return text;
    };
    format!("{plain}: {text}")
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
                why: why(tls_reason(io.to_string())),
            },
            // A peer that closes during the handshake speaks no TLS on that port.
            std::io::ErrorKind::UnexpectedEof if base.https => EurekaError::Tls {
                url,
                why: why(format!(
                    "the registry closed the connection during the handshake ({io}): is it an https port?"
                )),
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
            why: why(tls_reason(t.to_string())),
        },
        ureq::Error::Rustls(r) => EurekaError::Tls {
            url,
            why: why(tls_reason(r.to_string())),
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
            why: why(if base.https {
                format!("not an HTTP answer ({p})")
            } else {
                format!("not an HTTP answer ({p}); a TLS port wants https://")
            }),
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
        if rest.contains('@') {
            return Err(
                "the user information has /, ? or # in it: percent-encode them (%2F, %3F, %23)"
                    .to_string(),
            );
        }
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host = &rest[..host_end];
        if host.is_empty() {
            return Err("it names no host".to_string());
        }
        let port = match host.strip_prefix('[') {
            Some(v6) => v6
                .split_once(']')
                .and_then(|(_, after)| after.strip_prefix(':')),
            None => host.rsplit_once(':').map(|(_, p)| p),
        };
        if let Some(port) = port {
            if !port.parse::<u16>().is_ok_and(|p| p > 0) {
                return Err(format!(
                    "the port {port:?} is no TCP port (give 1 to 65535, or none for the scheme's)"
                ));
            }
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

    /// True when the host is `localhost` or a loopback address.
    fn is_loopback(&self) -> bool {
        let rest = origin_of(&self.clean)
            .split_once("://")
            .map_or("", |(_, authority)| authority);
        let host = match rest.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => rest.split(':').next().unwrap_or(""),
        };
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;
    use std::time::Duration;

    /// The research doc's example body (docs/research/eureka.md, section 1).
    const EXAMPLE: &str = r#"{"application":{"name":"MYAPP","instance":[{"instanceId":"h1:myapp:8080","hostName":"h1","app":"MYAPP",
 "ipAddr":"10.0.0.5","status":"UP","overriddenStatus":"UNKNOWN","port":{"$":8080,"@enabled":"true"},
 "securePort":{"$":443,"@enabled":"false"},"countryId":1,"dataCenterInfo":{"@class":
 "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"},"leaseInfo":{"renewalIntervalInSecs":30,
 "durationInSecs":90,"registrationTimestamp":1,"lastRenewalTimestamp":1,"evictionTimestamp":0,"serviceUpTimestamp":1},
 "metadata":{"@class":"java.util.Collections$EmptyMap"},"homePageUrl":"http://h1:8080/","vipAddress":"myapp",
 "isCoordinatingDiscoveryServer":"false","lastUpdatedTimestamp":"1","lastDirtyTimestamp":"1","actionType":"ADDED"}]}}"#;

    fn example_instance() -> Instance {
        Instance {
            instance_id: "h1:myapp:8080".into(),
            app: "MYAPP".into(),
            host_name: "h1".into(),
            ip_addr: "10.0.0.5".into(),
            status: "UP".into(),
            port: Some(Port {
                number: 8080,
                enabled: true,
            }),
            secure_port: Some(Port {
                number: 443,
                enabled: false,
            }),
            invalid: None,
        }
    }

    fn parse(text: &str) -> Result<Application, String> {
        parse_application(text.as_bytes())
    }

    /// `{"application":{"name":"MYAPP","instance": <instances>}}`.
    fn app_with(instances: &str) -> String {
        format!(r#"{{"application":{{"name":"MYAPP","instance":{instances}}}}}"#)
    }

    fn config(url: &str) -> EurekaConfig {
        EurekaConfig {
            url: url.to_string(),
            app: "myapp".to_string(),
            statuses: vec!["UP".to_string()],
            address: EurekaAddress::Ip,
            port: EurekaPort::Port,
            timeout: Duration::from_secs(3),
            insecure: false,
            ca: None,
        }
    }

    // --- parsing -----------------------------------------------------------------------------

    #[test]
    fn the_research_example_parses_field_by_field() {
        let app = parse(EXAMPLE).expect("the example parses");
        assert_eq!(app.name, "MYAPP");
        assert_eq!(app.instances, vec![example_instance()]);
    }

    #[test]
    fn a_lone_instance_object_is_a_list_of_one() {
        let legacy = app_with(
            r#"{"hostName":"h2","app":"MYAPP","ipAddr":"10.0.0.6","status":"DOWN",
                "port":{"$":"9090","@enabled":"true"}}"#,
        );
        let app = parse(&legacy).expect("the legacy form parses");
        assert_eq!(app.instances.len(), 1);
        let i = &app.instances[0];
        assert_eq!(i.ip_addr, "10.0.0.6");
        assert_eq!(i.status, "DOWN");
        assert_eq!(
            i.port,
            Some(Port {
                number: 9090,
                enabled: true
            })
        );
        assert_eq!(i.secure_port, None);
    }

    #[test]
    fn no_instance_in_any_form_is_an_empty_list() {
        for form in [
            r#"{"application":{"name":"MYAPP"}}"#.to_string(),
            app_with("[]"),
            app_with("null"),
        ] {
            let app = parse(&form).expect(&form);
            assert_eq!(app.name, "MYAPP");
            assert!(app.instances.is_empty(), "{form}");
        }
    }

    #[test]
    fn ports_are_read_in_every_form_servers_and_clients_write() {
        let body = app_with(
            r#"[{"ipAddr":"a","port":{"$":"80","@enabled":true},"securePort":{"$":443,"@enabled":false}},
                {"ipAddr":"b","port":{"$":81},"securePort":{"$":" 444 ","@enabled":"FALSE"}},
                {"ipAddr":"c","port":8082,"securePort":{"$":8443.0,"@enabled":"True"}},
                {"ipAddr":"d","port":null,"securePort":{"$":1,"@enabled":null}}]"#,
        );
        let app = parse(&body).expect("parses");
        let ports: Vec<_> = app
            .instances
            .iter()
            .map(|i| (i.port, i.secure_port))
            .collect();
        let p = |number, enabled| Some(Port { number, enabled });
        assert_eq!(
            ports,
            vec![
                (p(80, true), p(443, false)),
                (p(81, true), p(444, false)),
                (p(8082, true), p(8443, true)),
                (None, p(1, true)),
            ]
        );
    }

    #[test]
    fn absent_fields_get_the_java_clients_defaults() {
        let app = parse(&app_with(
            r#"[{"hostName":"h3","port":{"$":7000}},{"instanceId":""}]"#,
        ))
        .expect("parses");
        let i = &app.instances[0];
        assert_eq!(i.instance_id, "h3:MYAPP:7000");
        assert_eq!(i.app, "MYAPP");
        assert_eq!(i.status, "UNKNOWN");
        assert_eq!(i.ip_addr, "");
        let j = &app.instances[1];
        assert_eq!(j.instance_id, ":MYAPP");
        assert_eq!(j.host_name, "");
        // A status the enum does not know is kept as listed.
        let odd = parse(&app_with(r#"[{"status":"warming up"}]"#)).expect("parses");
        assert_eq!(odd.instances[0].status, "warming up");
    }

    #[test]
    fn xml_is_named_as_such() {
        for xml in [
            "<application><name>MYAPP</name></application>",
            "  \n<?xml version=\"1.0\"?><application/>",
            "\u{FEFF}<application/>",
        ] {
            assert_eq!(
                parse(xml),
                Err("an XML document, not JSON".to_string()),
                "{xml:?}"
            );
        }
    }

    #[test]
    fn malformed_json_says_so_with_serdes_reason() {
        let e = parse(r#"{"application":{"name":"MYAPP","#).unwrap_err();
        assert!(e.starts_with("not JSON: "), "{e}");
        assert!(e.contains("EOF"), "{e}");
        assert_eq!(parse("  "), Err("an empty body, not JSON".to_string()));
        assert!(parse_application(&[0xff, 0xfe, 0x00])
            .unwrap_err()
            .starts_with("not JSON"));
    }

    #[test]
    fn wrong_shapes_and_types_are_named_with_the_instance() {
        let cases = [
            ("[]", "[], not an object"),
            (r#"{"apps":1}"#, "no `application` object"),
            (
                r#"{"applications":{"application":[]}}"#,
                "the list of every application (`applications`), not one",
            ),
            (
                r#"{"application":[1]}"#,
                "`application` is [1], not an object",
            ),
            (
                r#"{"application":{"name":5}}"#,
                "application `name` is 5, not a string",
            ),
            (
                &app_with(r#""x""#),
                "`instance` is \"x\", not a list of instances",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(parse(body), Err(want.to_string()), "{body}");
        }
        // An instance that cannot be read is marked with why, and the others still count.
        let instance_cases = [
            (&app_with("[{}, 7]"), "instance 2: 7, not an object"),
            (
                &app_with(r#"[{"port":{"$":1}},{"port":{"$":"x","@enabled":"true"}}]"#),
                "instance 2: port `$` is \"x\", not a port number",
            ),
            (
                &app_with(r#"[{"securePort":{"$":70000}}]"#),
                "instance 1: securePort `$` is 70000, not a port number",
            ),
            (
                &app_with(r#"[{"port":{"$":-1}}]"#),
                "instance 1: port `$` is -1, not a port number",
            ),
            (
                &app_with(r#"[{"port":{"$":80.5}}]"#),
                "instance 1: port `$` is 80.5, not a port number",
            ),
            (
                &app_with(r#"[{"port":{"@enabled":"true"}}]"#),
                "instance 1: port has no `$`",
            ),
            (
                &app_with(r#"[{"port":{"$":80,"@enabled":"yes"}}]"#),
                "instance 1: port `@enabled` is \"yes\", not true or false",
            ),
            (
                &app_with(r#"[{"port":[80]}]"#),
                "instance 1: `port` is [80], not a port",
            ),
            (
                &app_with(r#"[{"hostName":5}]"#),
                "instance 1: `hostName` is 5, not a string",
            ),
            (
                &app_with(r#"[{"status":{"a":1}}]"#),
                "instance 1: `status` is {\"a\":1}, not a string",
            ),
        ];
        for (body, want) in instance_cases {
            let app = parse(body).unwrap_or_else(|e| panic!("{body}: {e}"));
            let marked = app.instances.iter().find(|i| i.invalid.is_some());
            assert_eq!(
                marked.and_then(|i| i.invalid.as_deref()),
                Some(want),
                "{body}"
            );
        }
        // A long value is cut short in the message.
        let long = app_with(&format!(r#"[{{"ipAddr":[{}]}}]"#, "1,".repeat(100) + "1"));
        let app = parse(&long).unwrap();
        let e = app.instances[0].invalid.clone().unwrap();
        assert!(e.len() < 100 && e.contains('…'), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse(&deep).unwrap_err().starts_with("not JSON"));
        let deep_instance = app_with(&("[".repeat(50_000) + &"]".repeat(50_000)));
        assert!(parse(&deep_instance).is_err());
    }

    // --- selection ---------------------------------------------------------------------------

    fn instance(id: &str, status: &str, ip: &str, host: &str) -> Instance {
        Instance {
            instance_id: id.into(),
            app: "MYAPP".into(),
            host_name: host.into(),
            ip_addr: ip.into(),
            status: status.into(),
            port: Some(Port {
                number: 8080,
                enabled: true,
            }),
            secure_port: Some(Port {
                number: 8443,
                enabled: true,
            }),
            invalid: None,
        }
    }

    #[test]
    fn an_ip_address_that_is_none_is_skipped_not_looked_up() {
        let cfg = config("http://127.0.0.1:8761/eureka");
        let app = application(vec![
            instance("a", "UP", "localhost", "h"),
            instance("b", "UP", "999.1.1.1", "h"),
            instance("c", "UP", "10.0.0.7", "h"),
        ]);
        let s = select(app, &cfg).unwrap();
        assert_eq!(chosen_ids(&s), vec!["c"]);
        assert_eq!(
            s.skipped[0].reason,
            "ipAddr \"localhost\" is not an IP address"
        );
        assert_eq!(
            s.skipped[1].reason,
            "ipAddr \"999.1.1.1\" is not an IP address"
        );
    }

    #[test]
    fn control_characters_from_the_registry_are_escaped() {
        let app = parse(&app_with(
            r#"[{"instanceId":"esc\u001b[31mRED\u0007\n","hostName":"h","ipAddr":"10.0.0.1"}]"#,
        ))
        .unwrap();
        assert_eq!(app.instances[0].instance_id, "esc\\u{1b}[31mRED\\u{7}\\n");
    }

    #[test]
    fn base_urls_with_a_bad_port_or_unencoded_credentials_are_refused() {
        for (url, want) in [
            ("http://127.0.0.1:99999/eureka", "no TCP port"),
            ("http://127.0.0.1:8761x/eureka", "no TCP port"),
            ("http://127.0.0.1:/eureka", "no TCP port"),
            ("http://[::1]:0/eureka", "no TCP port"),
            ("http://alice:pa/ss@127.0.0.1:8761/eureka", "percent-encode"),
            ("http://alice:pa?ss@127.0.0.1:8761/eureka", "percent-encode"),
        ] {
            let e = BaseUrl::parse(url).err().unwrap_or_default();
            assert!(e.contains(want), "{url}: {e}");
        }
        assert!(BaseUrl::parse("http://[::1]:8761/eureka").is_ok());
        assert!(BaseUrl::parse("http://reg.example/eureka").is_ok());
        // The error line of fetch hides the password whatever it holds.
        let e = fetch(&config("http://alice:pa/ss@127.0.0.1:8761/eureka"))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pa/ss") && !e.contains("alice"), "{e}");
    }

    fn application(instances: Vec<Instance>) -> Application {
        Application {
            name: "MYAPP".into(),
            instances,
        }
    }

    fn chosen_ids(s: &Selection) -> Vec<&str> {
        s.chosen
            .iter()
            .map(|c| c.instance.instance_id.as_str())
            .collect()
    }

    fn skipped_reasons(s: &Selection) -> Vec<(&str, &str)> {
        s.skipped
            .iter()
            .map(|k| (k.instance.instance_id.as_str(), k.reason.as_str()))
            .collect()
    }

    #[test]
    fn only_the_statuses_asked_for_are_tested() {
        let app = application(vec![
            instance("a", "UP", "10.0.0.1", "a"),
            instance("b", "DOWN", "10.0.0.2", "b"),
            instance("c", "STARTING", "10.0.0.3", "c"),
            instance("d", "up", "10.0.0.4", "d"),
        ]);
        let mut cfg = config("http://r:8761/eureka");
        let s = select(app.clone(), &cfg).expect("some are UP");
        assert_eq!(s.app, "MYAPP");
        assert_eq!(chosen_ids(&s), ["a", "d"]);
        assert_eq!(
            skipped_reasons(&s),
            [("b", "status DOWN"), ("c", "status STARTING")]
        );
        assert_eq!(
            (s.chosen[0].host.as_str(), s.chosen[0].port),
            ("10.0.0.1", 8080)
        );
        cfg.statuses = vec!["UP".into(), "STARTING".into()];
        assert_eq!(chosen_ids(&select(app, &cfg).unwrap()), ["a", "c", "d"]);
    }

    #[test]
    fn the_address_is_ip_or_hostname_as_asked() {
        let app = application(vec![
            instance("a", "UP", "10.0.0.1", "host-a"),
            instance("b", "UP", "", "host-b"),
            instance("c", "UP", "10.0.0.3", " "),
        ]);
        let mut cfg = config("http://r:8761/eureka");
        let s = select(app.clone(), &cfg).unwrap();
        assert_eq!(chosen_ids(&s), ["a", "c"]);
        assert_eq!(skipped_reasons(&s), [("b", "no ipAddr")]);
        cfg.address = EurekaAddress::Hostname;
        let s = select(app, &cfg).unwrap();
        assert_eq!(chosen_ids(&s), ["a", "b"]);
        assert_eq!(s.chosen[1].host, "host-b");
        assert_eq!(skipped_reasons(&s), [("c", "no hostName")]);
    }

    #[test]
    fn the_port_is_port_or_secure_port_and_must_be_enabled() {
        let mut off = instance("off", "UP", "10.0.0.1", "h");
        off.port = Some(Port {
            number: 8080,
            enabled: false,
        });
        let mut none = instance("none", "UP", "10.0.0.2", "h");
        none.port = None;
        none.secure_port = None;
        let mut zero = instance("zero", "UP", "10.0.0.3", "h");
        zero.port = Some(Port {
            number: 0,
            enabled: true,
        });
        let mut secure_off = instance("secure-off", "UP", "10.0.0.4", "h");
        secure_off.secure_port = Some(Port {
            number: 8443,
            enabled: false,
        });
        let app = application(vec![off, none, zero, secure_off]);
        let mut cfg = config("http://r:8761/eureka");
        let s = select(app.clone(), &cfg).unwrap();
        assert_eq!(chosen_ids(&s), ["secure-off"]);
        assert_eq!(s.chosen[0].port, 8080);
        assert_eq!(
            skipped_reasons(&s),
            [
                ("off", "port not enabled"),
                ("none", "no port"),
                ("zero", "port is 0")
            ]
        );
        cfg.port = EurekaPort::Secure;
        let s = select(app, &cfg).unwrap();
        assert_eq!(chosen_ids(&s), ["off", "zero"]);
        assert_eq!(s.chosen[0].port, 8443);
        assert_eq!(
            skipped_reasons(&s),
            [
                ("none", "no securePort"),
                ("secure-off", "securePort not enabled")
            ]
        );
    }

    #[test]
    fn nothing_left_is_an_error_that_counts_the_reasons() {
        let cfg = config("http://alice:s3cret@r:8761/eureka");
        let app = application(vec![
            instance("a", "DOWN", "10.0.0.1", "a"),
            instance("b", "UP", "", "b"),
            instance("c", "DOWN", "10.0.0.3", "c"),
        ]);
        let e = select(app, &cfg).unwrap_err();
        assert!(matches!(e, EurekaError::NoInstance { .. }));
        let text = e.to_string();
        assert!(
            text.contains("all 3 instances listed are skipped: 2 status DOWN, 1 no ipAddr"),
            "{text}"
        );
        assert!(text.contains("MYAPP") && text.contains("http://***@r:8761/eureka"));
        assert!(
            !text.contains("s3cret") && !text.contains("alice"),
            "{text}"
        );
        let one = select(
            application(vec![instance("a", "OUT_OF_SERVICE", "1", "a")]),
            &cfg,
        )
        .unwrap_err()
        .to_string();
        assert!(
            one.contains("the only instance listed is skipped: 1 status OUT_OF_SERVICE"),
            "{one}"
        );
        let empty = select(application(vec![]), &cfg).unwrap_err().to_string();
        assert!(empty.contains("the registry lists none"), "{empty}");
    }

    // --- URL handling ------------------------------------------------------------------------

    #[test]
    fn the_base_url_loses_its_credentials_and_trailing_slash() {
        let b = BaseUrl::parse("http://alice:s3cr%40t@127.0.0.1:8761/eureka//").unwrap();
        assert_eq!(b.clean, "http://127.0.0.1:8761/eureka");
        assert!(!b.https);
        assert_eq!(
            b.credentials,
            Some(("alice".to_string(), "s3cr@t".to_string()))
        );
        // base64("alice:s3cr@t")
        assert_eq!(b.authorization().unwrap(), "Basic YWxpY2U6czNjckB0");
        let h = BaseUrl::parse("HTTPS://reg.example/").unwrap();
        assert_eq!((h.clean.as_str(), h.https), ("https://reg.example", true));
        assert_eq!(h.authorization(), None);
        assert!(!h.is_loopback());
        assert!(b.is_loopback());
        assert!(BaseUrl::parse("http://[::1]:8761/e").unwrap().is_loopback());
        assert!(BaseUrl::parse("http://LocalHost/e").unwrap().is_loopback());
        assert!(!BaseUrl::parse("http://10.0.0.1/e").unwrap().is_loopback());
        for bad in [
            "reg:8761/eureka",
            "ftp://reg/eureka",
            "http:///eureka",
            "http://h/e?x=1",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_names_are_percent_encoded_and_credentials_decoded() {
        assert_eq!(percent_encode("MY-APP_1.x~"), "MY-APP_1.x~");
        assert_eq!(percent_encode("A B/C?é"), "A%20B%2FC%3F%C3%A9");
        assert_eq!(percent_decode("a%3Ab%40c%zz%4"), "a:b@c%zz%4");
    }

    #[test]
    fn redirect_locations_resolve_against_the_current_url() {
        let cur = "http://r:8761/eureka/apps/MYAPP";
        assert_eq!(
            resolve_location(cur, "/other/apps/MYAPP").as_deref(),
            Some("http://r:8761/other/apps/MYAPP")
        );
        assert_eq!(
            resolve_location(cur, "https://s/eureka/apps/MYAPP").as_deref(),
            Some("https://s/eureka/apps/MYAPP")
        );
        assert_eq!(
            resolve_location(cur, "//s2/x").as_deref(),
            Some("http://s2/x")
        );
        assert_eq!(
            resolve_location(cur, "OTHER").as_deref(),
            Some("http://r:8761/eureka/apps/OTHER")
        );
        assert_eq!(resolve_location(cur, ""), None);
        assert_eq!(resolve_location(cur, "ftp://s/x"), None);
    }

    #[test]
    fn scrubbing_removes_every_trace_of_the_credentials() {
        let cfg = config("http://alice:s3cr%40t@r:8761/eureka");
        let text = "bad uri: http://alice:s3cr%40t@r:8761/eureka/apps/X; user alice, pass s3cr@t";
        let clean = scrub(text, &cfg);
        for secret in ["alice", "s3cr", "%40t"] {
            assert!(!clean.contains(secret), "{clean}");
        }
        assert!(clean.contains("http://***@r:8761/eureka"), "{clean}");
    }

    // --- fetching, against a loopback fixture ------------------------------------------------

    /// How long the loopback fixture waits for anything before it gives up.
    const PATIENCE: Duration = Duration::from_secs(10);

    /// An HTTP/1.1 answer that closes the connection.
    fn http(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn json(body: &str) -> Vec<u8> {
        http(
            "200 OK",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// Reads a request's head (up to the blank line), bounded in size and time.
    fn read_head(stream: &mut std::net::TcpStream) -> String {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    /// Accepts one connection, within [`PATIENCE`].
    fn accept(listener: &TcpListener) -> Option<std::net::TcpStream> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    return Some(stream);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        None
    }

    /// A server on 127.0.0.1 that answers one connection per answer given, in order, and
    /// returns the request heads it read. Its base URL is `http://127.0.0.1:PORT`.
    fn serve(answers: Vec<Vec<u8>>) -> (String, JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let handle = std::thread::spawn(move || {
            let mut heads = Vec::new();
            for answer in answers {
                let Some(mut stream) = accept(&listener) else {
                    break;
                };
                heads.push(read_head(&mut stream));
                let _ = stream.write_all(&answer);
                let _ = stream.flush();
            }
            heads
        });
        (format!("http://127.0.0.1:{port}"), handle)
    }

    /// The value of a header in a request head, case-insensitively.
    fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    #[test]
    fn fetch_asks_for_json_and_gzip_at_the_upper_cased_app() {
        let (base, server) = serve(vec![json(EXAMPLE)]);
        let mut cfg = config(&format!("{base}/eureka/"));
        cfg.app = "my-app".into();
        let app = fetch(&cfg).expect("fetched");
        assert_eq!(app.instances, vec![example_instance()]);
        let heads = server.join().expect("server");
        let head = &heads[0];
        assert!(
            head.starts_with("GET /eureka/apps/MY-APP HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(
            header(head, "accept").unwrap().contains("application/json"),
            "{head}"
        );
        assert!(
            header(head, "accept-encoding").unwrap().contains("gzip"),
            "{head}"
        );
        assert_eq!(header(head, "authorization"), None, "{head}");
    }

    #[test]
    fn fetch_percent_encodes_the_app_name() {
        let (base, server) = serve(vec![json(EXAMPLE)]);
        let mut cfg = config(&format!("{base}/eureka/v2"));
        cfg.app = "my app/é".into();
        fetch(&cfg).expect("fetched");
        let heads = server.join().expect("server");
        assert!(
            heads[0].starts_with("GET /eureka/v2/apps/MY%20APP%2F%C3%89 HTTP/1.1\r\n"),
            "{}",
            heads[0]
        );
    }

    #[test]
    fn fetch_sends_the_urls_credentials_as_basic_auth_only() {
        let (base, server) = serve(vec![json(EXAMPLE)]);
        let with_creds = base.replace("http://", "http://alice:s3cr%40t@");
        fetch(&config(&format!("{with_creds}/eureka"))).expect("fetched");
        let heads = server.join().expect("server");
        let head = &heads[0];
        assert_eq!(
            header(head, "authorization"),
            Some("Basic YWxpY2U6czNjckB0")
        );
        assert!(head.starts_with("GET /eureka/apps/MYAPP "), "{head}");
        // The credentials are nowhere else in the request (Host, request line).
        let rest: String = head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("authorization"))
            .collect();
        assert!(!rest.contains("alice") && !rest.contains("s3cr"), "{head}");
    }

    #[test]
    fn fetch_decodes_a_gzip_body() {
        use flate2::write::GzEncoder;
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(EXAMPLE.as_bytes()).expect("gzip");
        let body = gz.finish().expect("gzip");
        let answer = http(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            &body,
        );
        let (base, server) = serve(vec![answer]);
        let app = fetch(&config(&format!("{base}/eureka"))).expect("gzip body decoded");
        assert_eq!(app.instances, vec![example_instance()]);
        server.join().expect("server");
    }

    #[test]
    fn fetch_follows_a_redirect_with_credentials_on_the_same_origin() {
        let (base, server) = serve(vec![
            http("302 Found", &[("Location", "/v2/apps/MYAPP")], b""),
            json(EXAMPLE),
        ]);
        let with_creds = base.replace("http://", "http://alice:pw@");
        let app = fetch(&config(&format!("{with_creds}/eureka"))).expect("redirect followed");
        assert_eq!(app.name, "MYAPP");
        let heads = server.join().expect("server");
        assert!(heads[1].starts_with("GET /v2/apps/MYAPP "), "{}", heads[1]);
        assert_eq!(
            header(&heads[1], "authorization"),
            Some("Basic YWxpY2U6cHc=")
        );
    }

    #[test]
    fn credentials_never_follow_a_redirect_to_another_origin() {
        let (other, other_server) = serve(vec![json(EXAMPLE)]);
        let location = format!("{other}/eureka/apps/MYAPP");
        let (base, server) = serve(vec![http(
            "307 Temporary Redirect",
            &[("Location", location.as_str())],
            b"",
        )]);
        let with_creds = base.replace("http://", "http://alice:pw@");
        fetch(&config(&format!("{with_creds}/eureka"))).expect("redirect followed");
        let first = server.join().expect("server");
        assert_eq!(
            header(&first[0], "authorization"),
            Some("Basic YWxpY2U6cHc=")
        );
        let second = other_server.join().expect("other server");
        assert!(
            second[0].starts_with("GET /eureka/apps/MYAPP "),
            "{}",
            second[0]
        );
        assert_eq!(header(&second[0], "authorization"), None, "{}", second[0]);
    }

    /// Fetches from a server giving `answer`, with credentials in the URL, and checks that the
    /// error's message is one line, names the redacted URL and holds no credential.
    fn fetch_error(answer: Vec<u8>) -> EurekaError {
        let (base, server) = serve(vec![answer]);
        let with_creds = base.replace("http://", "http://alice:s3cret@");
        let e = fetch(&config(&format!("{with_creds}/eureka"))).expect_err("an error");
        server.join().expect("server");
        let text = e.to_string();
        assert!(
            !text.contains("alice") && !text.contains("s3cret"),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
        let redacted = base.replace("http://", "http://***@") + "/eureka";
        assert!(text.contains(&redacted), "{text}");
        e
    }

    #[test]
    fn every_refusal_status_has_its_own_error() {
        let e = fetch_error(http("404 Not Found", &[], b""));
        assert!(
            matches!(&e, EurekaError::NoSuchApp { app, .. } if app == "MYAPP"),
            "{e:?}"
        );
        assert!(e
            .to_string()
            .contains("knows no application MYAPP (names are upper-cased); check --app"));

        let e = fetch_error(http("403 Forbidden", &[], b""));
        assert!(matches!(e, EurekaError::NotReady { .. }), "{e:?}");
        assert!(e.to_string().contains("wait-time-in-ms-when-sync-empty=0"));

        let e = fetch_error(http("401 Unauthorized", &[], b""));
        assert!(matches!(e, EurekaError::Unauthorized { .. }), "{e:?}");
        assert!(e.to_string().contains("user:password@"));

        let e = fetch_error(http("406 Not Acceptable", &[], b""));
        assert!(matches!(e, EurekaError::NotAcceptable { .. }), "{e:?}");
        assert!(e.to_string().contains("gzip"));

        let e = fetch_error(http(
            "307 Temporary Redirect",
            &[],
            b"Current node is currently not ready to serve requests",
        ));
        assert!(matches!(e, EurekaError::NotUp { status: 307, .. }), "{e:?}");
        assert!(e.to_string().contains("not UP yet"));

        let e = fetch_error(http(
            "500 Internal Server Error",
            &[],
            b"\n  boom: the cache broke\nat line 2",
        ));
        assert!(
            matches!(e, EurekaError::Status { status: 500, .. }),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("HTTP 500 for application MYAPP: boom: the cache broke;"),
            "{e}"
        );

        // A body that echoes the credentials is left out of the message.
        let e = fetch_error(http("500 Internal Server Error", &[], b"who is alice?"));
        assert!(
            matches!(&e, EurekaError::Status { detail, .. } if detail.is_empty()),
            "{e:?}"
        );
    }

    #[test]
    fn an_answer_that_is_not_the_json_is_malformed() {
        let e = fetch_error(http(
            "200 OK",
            &[("Content-Type", "application/xml")],
            b"<application><name>MYAPP</name></application>",
        ));
        assert!(
            matches!(&e, EurekaError::Malformed { why, .. } if why == "an XML document, not JSON"),
            "{e:?}"
        );
        let e = fetch_error(http(
            "200 OK",
            &[("Content-Encoding", "gzip")],
            b"this is not gzip at all",
        ));
        assert!(matches!(e, EurekaError::Malformed { .. }), "{e:?}");
        let e = fetch_error(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec());
        assert!(matches!(e, EurekaError::Malformed { .. }), "{e:?}");
    }

    #[test]
    fn a_registry_that_never_answers_times_out_quickly() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            // Hold the connection, silent, until the client goes away (or PATIENCE runs out).
            let Some(mut stream) = accept(&listener) else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
            let deadline = Instant::now() + PATIENCE;
            let mut buf = [0u8; 1024];
            while Instant::now() < deadline {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break,
                }
            }
        });
        let mut cfg = config(&format!("http://bob:hunter22@127.0.0.1:{port}/eureka"));
        cfg.timeout = Duration::from_millis(300);
        let start = Instant::now();
        let e = fetch(&cfg).expect_err("a timeout");
        let took = start.elapsed();
        assert!(matches!(e, EurekaError::Timeout { .. }), "{e:?}");
        assert!(took < Duration::from_secs(2), "took {took:?}");
        let text = e.to_string();
        assert!(
            text.contains("did not answer within 300ms (--eureka-timeout)"),
            "{text}"
        );
        assert!(
            !text.contains("hunter22") && !text.contains("bob"),
            "{text}"
        );
        server.join().expect("server");
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            l.local_addr().expect("addr").port()
        };
        let e = fetch(&config(&format!(
            "http://carol:pa55word@127.0.0.1:{port}/eureka"
        )))
        .expect_err("refused");
        assert!(matches!(e, EurekaError::Unreachable { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot reach the Eureka registry at http://***@127.0.0.1:{port}/eureka: "
            )),
            "{text}"
        );
        assert!(text.ends_with("; check --eureka"), "{text}");
        assert!(
            !text.contains("carol") && !text.contains("pa55word"),
            "{text}"
        );
    }

    #[test]
    fn https_to_a_plain_http_server_is_a_tls_error() {
        let (base, server) = serve(vec![http("400 Bad Request", &[], b"plain http")]);
        let url = base.replace("http://", "https://dave:t0ps3cret@") + "/eureka";
        let e = fetch(&config(&url)).expect_err("no TLS there");
        server.join().expect("server");
        assert!(matches!(e, EurekaError::Tls { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("--eureka-insecure") && text.contains("test registry"),
            "{text}"
        );
        assert!(
            !text.contains("dave") && !text.contains("t0ps3cret"),
            "{text}"
        );
    }

    #[test]
    fn a_url_that_cannot_be_used_is_named_redacted() {
        let e = fetch(&config("ftp://eve:s3cret@r/eureka")).expect_err("bad scheme");
        assert!(matches!(e, EurekaError::BadUrl { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("ftp://***@r/eureka") && !text.contains("s3cret"),
            "{text}"
        );
        let mut cfg = config("http://r/eureka");
        cfg.app = " ".into();
        assert!(matches!(fetch(&cfg), Err(EurekaError::BadUrl { .. })));
    }

    // --- never a panic -----------------------------------------------------------------------

    mod prop {
        use super::super::parse_application;
        use proptest::prelude::*;
        use serde_json::{json, Map, Value};

        const KEYS: &[&str] = &[
            "application",
            "applications",
            "name",
            "instance",
            "instanceId",
            "app",
            "hostName",
            "ipAddr",
            "status",
            "port",
            "securePort",
            "$",
            "@enabled",
            "x",
        ];

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>().prop_map(
                    |f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                ),
                (0u32..70_000).prop_map(Value::from),
                prop_oneof![
                    Just("true"),
                    Just("false"),
                    Just("TRUE"),
                    Just("8080"),
                    Just("65536"),
                    Just("x"),
                    Just(""),
                    Just(" 80 "),
                    Just("-1"),
                    Just("UP"),
                ]
                .prop_map(Value::from),
                ".{0,12}".prop_map(Value::from),
            ]
        }

        fn value() -> impl Strategy<Value = Value> {
            leaf().prop_recursive(6, 64, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(
                        |kv| {
                            let m: Map<String, Value> =
                                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                            Value::Object(m)
                        }
                    ),
                ]
            })
        }

        fn check(v: &Value) {
            let bytes = serde_json::to_vec(v).unwrap_or_default();
            let _ = parse_application(&bytes);
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse_application(&bytes);
            }

            #[test]
            fn arbitrary_json_in_every_place_never_panics(v in value(), w in value()) {
                check(&v);
                check(&json!({"application": v}));
                check(&json!({"application": {"name": "A", "instance": v}}));
                check(&json!({"application": {"name": w, "instance": [v]}}));
                check(&json!({"application": {"instance": [
                    {"port": v, "securePort": {"$": w, "@enabled": v}, "hostName": w}
                ]}}));
                check(&json!({"application": {"instance": {"port": {"$": v, "@enabled": w}}}}));
            }
        }
    }
}
