//! The Kubernetes manifests (issue 10): `deploy/kubernetes/job.yaml` parses, is an Indexed Job
//! that never retries and puts one pod per node, its shard count agrees with its completions,
//! and its container arguments are a valid tcpgoon command line (checked by tcpgoon's own
//! parser, with the environment variables Kubernetes expands put in).

use serde_norway::Value;

fn manifests() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/kubernetes/job.yaml"
    ))
    .unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("a YAML document"))
        .collect()
}

#[test]
fn the_indexed_job_agrees_with_tcpgoons_flags_and_shards() {
    let docs = manifests();
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("a Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(
        spec["backoffLimit"], 0,
        "a retry would dial its shard again"
    );
    let completions = spec["completions"].as_u64().unwrap();
    assert_eq!(spec["parallelism"].as_u64(), Some(completions));
    // Every exit code of a finished test fails the Job, none is retried.
    let rules = spec["podFailurePolicy"]["rules"].as_sequence().unwrap();
    let codes: Vec<u64> = rules
        .iter()
        .filter_map(|r| r["onExitCodes"]["values"].as_sequence())
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(codes, vec![1, 2, 3]);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let anti =
        &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(anti["topologyKey"], "kubernetes.io/hostname");
    let container = &pod["containers"][0];
    assert_eq!(container["name"], "tcpgoon");
    let env: Vec<(String, String)> = container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let var = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(
        var("TCPGOON_SHARDS").and_then(|v| v.parse::<u64>().ok()),
        Some(completions),
        "TCPGOON_SHARDS must equal completions"
    );
    // The arguments, as Kubernetes expands them for the last shard, parse as tcpgoon's.
    let args: Vec<String> = container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| a.as_u64().unwrap().to_string())
        })
        .collect();
    let last = (completions - 1).to_string();
    let expanded: Vec<String> = args
        .iter()
        .map(|a| {
            let mut a = a.replace("$(JOB_COMPLETION_INDEX)", &last);
            for (name, value) in &env {
                a = a.replace(&format!("$({name})"), value);
            }
            assert!(
                !a.contains("$("),
                "an argument names no variable the pod has: {a}"
            );
            a
        })
        .collect();
    let mut command = vec!["tcpgoon".to_string()];
    command.extend(expanded.iter().cloned());
    // The shard as the environment gives it, spelled as the flag.
    command.insert(2, format!("--shard={last}/{completions}"));
    tcpgoon::app::check_args(command.iter().map(Into::into))
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        args.iter().any(|a| a == "--start-at"),
        "every shard starts at the barrier"
    );
    // Each shard writes its own report where the volume is mounted.
    let export = args
        .iter()
        .skip_while(|a| *a != "--export-json")
        .nth(1)
        .expect("--export-json");
    let mount = container["volumeMounts"][0]["mountPath"].as_str().unwrap();
    assert!(export.starts_with(&format!("{mount}/")) && export.contains("$(JOB_COMPLETION_INDEX)"));
    let claim = &pod["volumes"][0]["persistentVolumeClaim"]["claimName"];
    assert!(docs
        .iter()
        .any(|d| d["kind"] == "PersistentVolumeClaim" && d["metadata"]["name"] == *claim));
}

#[test]
fn a_broken_manifest_line_would_be_caught() {
    // The parser the test relies on refuses what tcpgoon refuses.
    let bad = [
        "tcpgoon",
        "run",
        "--assume-yes",
        "--connections",
        "lots",
        "h",
        "1",
    ];
    assert!(tcpgoon::app::check_args(bad.iter().map(Into::into)).is_err());
    let good = ["tcpgoon", "run", "--assume-yes", "--shard=0/3", "h", "1"];
    assert!(tcpgoon::app::check_args(good.iter().map(Into::into)).is_ok());
}
