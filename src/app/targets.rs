//! The targets of a run with `--target`, `--targets-file`, `--all-addresses` or `--eureka`:
//! read the file, ask the registry and the resolver once, in that order, before anything is
//! dialed; `tcpgoon discover` prints what this finds.

use crate::cli;
use crate::config::{DiscoverConfig, RunConfig, TargetSpec, TargetsConfig};
use crate::discover::eureka::{self, Selection};
use crate::discover::{self, Target};
use crate::engine::signals::Signals;
use crate::report::ReportOut;
use crate::verdict::EXIT_OK;

use super::AppError;

/// What discovery found.
pub(super) struct Found {
    /// The targets, in order: `HOST PORT`, `--target`s, the file's, the registry's instances.
    pub targets: Vec<Target>,
    /// What the registry listed, when asked.
    pub eureka: Option<Eureka>,
    /// Targets listed more than once, as typed: tested once.
    pub dropped: Vec<String>,
}

/// What a Eureka registry listed.
pub(super) struct Eureka {
    /// The application, as the registry names it.
    pub app: String,
    /// The registry's URL, credentials hidden.
    pub url: String,
    /// Instances not tested, each with why ("i-3 (10.0.0.7:8080): status DOWN").
    pub skipped: Vec<String>,
    /// Instances the registry listed.
    pub listed: usize,
    /// Of those, to test.
    pub tested: usize,
}

impl Found {
    /// True when there is more to say than the target: its instances and skips, duplicates.
    pub fn told(&self) -> bool {
        self.eureka.is_some() || !self.dropped.is_empty()
    }

    /// The lines that say where the targets came from, for the top of the report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.eureka {
            out.push_str(&format!(
                "Eureka: {} at {}: {} instance{}, {} to test, {} skipped\n",
                e.app,
                e.url,
                e.listed,
                if e.listed == 1 { "" } else { "s" },
                e.tested,
                e.skipped.len()
            ));
            for s in &e.skipped {
                out.push_str(&format!("  skipped: {s}\n"));
            }
        }
        for d in &self.dropped {
            out.push_str(&format!(
                "Note: {d} is listed more than once; tested once\n"
            ));
        }
        out
    }
}

/// Every target of `config`, resolved.
pub(super) fn find(config: &RunConfig) -> Result<Found, AppError> {
    let mut specs = Vec::new();
    if !config.host.is_empty() {
        specs.push(TargetSpec {
            host: config.host.clone(),
            port: config.port,
        });
    }
    find_targets(&config.targets, specs)
}

/// Every target `targets` names after `specs`, resolved; a SIGINT or SIGTERM while the
/// registry or the resolver is being asked ends it at once (nothing was dialed), instead of
/// after the answer or the timeout.
pub(super) fn find_targets(
    targets: &TargetsConfig,
    specs: Vec<TargetSpec>,
) -> Result<Found, AppError> {
    let Ok(mut signals) = Signals::for_process() else {
        return ask_for_targets(targets, specs);
    };
    // The asking thread is started after the signals are blocked, so it never takes them.
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = targets.clone();
    std::thread::spawn(move || {
        let _ = tx.send(ask_for_targets(&owned, specs));
    });
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(20)) {
            Ok(found) => return found,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if signals.drain() > 0 {
                    return Err(AppError::Interrupted(
                        "while asking for the targets (the registry, or the resolver)",
                    ));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(AppError::Eureka(
                    "the search for the targets ended without an answer; nothing was dialed"
                        .to_string(),
                ))
            }
        }
    }
}

/// [`find_targets`]'s work: the file, the resolver, the registry, in that order.
fn ask_for_targets(targets: &TargetsConfig, mut specs: Vec<TargetSpec>) -> Result<Found, AppError> {
    specs.extend(targets.specs.iter().cloned());
    let resolve = |e| AppError::Resolve(e, String::new());
    let (mut list, _) = discover::resolve_all(&specs, targets.all_addresses).map_err(resolve)?;
    if let Some(path) = &targets.targets_file {
        let file_error = |why: String| AppError::TargetsFile {
            path: path.clone(),
            why,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| file_error(format!("cannot read it: {e}")))?;
        for (line, spec) in cli::targets_file(&text).map_err(file_error)? {
            let (found, _) = discover::resolve_all(&[spec], targets.all_addresses)
                .map_err(|e| file_error(format!("line {line}: {e}")))?;
            list.extend(found);
        }
    }
    let mut found_eureka = None;
    if let Some(query) = &targets.eureka {
        if query.insecure {
            super::complain(&format!(
                "warning: --eureka-insecure: the certificate of the registry at {} is not verified\n",
                query.redacted_url()
            ));
        }
        let app = eureka::fetch(query).map_err(|e| AppError::Eureka(e.to_string()))?;
        let Selection {
            app,
            chosen,
            skipped,
        } = eureka::select(app, query).map_err(|e| AppError::Eureka(e.to_string()))?;
        let listed = chosen.len() + skipped.len();
        let mut skipped: Vec<String> = skipped
            .iter()
            .map(|s| {
                let i = &s.instance;
                format!("{} ({}): {}", i.instance_id, instance_address(i), s.reason)
            })
            .collect();
        let mut tested = 0;
        for c in chosen {
            // A hostName that does not resolve is that instance's problem: it is skipped,
            // said, and the others are tested.
            let mut t = match Target::resolve(&c.host, c.port) {
                Ok(t) => t,
                Err(e) => {
                    let i = &c.instance;
                    skipped.push(format!("{} ({}): {e}", i.instance_id, instance_address(i)));
                    continue;
                }
            };
            tested += 1;
            t.instance = Some(c.instance.instance_id.clone());
            if targets.all_addresses {
                list.extend(t.each_address());
            } else {
                list.push(t);
            }
        }
        if tested == 0 {
            return Err(AppError::Eureka(format!(
                "no instance of {app} to test at {}: {}",
                query.redacted_url(),
                skipped.join("; ")
            )));
        }
        found_eureka = Some(Eureka {
            app,
            url: query.redacted_url(),
            listed,
            tested,
            skipped,
        });
    }
    let (targets_list, dropped) = discover::dedup(list);
    Ok(Found {
        targets: targets_list,
        eureka: found_eureka,
        dropped,
    })
}

/// Where an instance listens, as far as the registry says.
fn instance_address(i: &eureka::Instance) -> String {
    let host = if i.ip_addr.is_empty() {
        &i.host_name
    } else {
        &i.ip_addr
    };
    match i.port {
        Some(p) => format!("{host}:{}", p.number),
        None => host.clone(),
    }
}

/// `tcpgoon discover`: prints the targets a run would test, then what was skipped; dials
/// nothing.
pub(super) fn discover(config: &DiscoverConfig) -> Result<i32, AppError> {
    let found = find_targets(&config.targets, Vec::new())?;
    let text = if config.json {
        let targets: Vec<serde_json::Value> = found
            .targets
            .iter()
            .map(|t| {
                serde_json::json!({
                    "host": t.host,
                    "port": t.port,
                    "address": t.primary().to_string(),
                    "instance": t.instance,
                })
            })
            .collect();
        let eureka = found
            .eureka
            .as_ref()
            .map(|e| serde_json::json!({ "app": e.app, "url": e.url, "skipped": e.skipped }));
        let doc = serde_json::json!({
            "targets": targets,
            "eureka": eureka,
            "duplicates": found.dropped,
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
        )
    } else {
        let mut out = found.text();
        out.push_str(&format!("Targets: {}\n", found.targets.len()));
        for t in &found.targets {
            out.push_str(&format!("  {}\n", super::many::label(t)));
        }
        out
    };
    let mut out = ReportOut::default();
    out.write(&text);
    Ok(super::written(&mut out, EXIT_OK))
}
