//! A whole engine run over loopback, in process: dial N connections as fast as allowed to a
//! listener on 127.0.0.1, hold nothing, close. Measures the loop's cost per connection next to
//! the kernel's; the bench script (`scripts/bench.sh`) compares the whole binary with the C
//! reference in fresh network namespaces.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tcpgoon::config::{CloseMode, LoadConfig, Pacing};
use tcpgoon::engine::{Engine, Plan};
use tcpgoon::local::LocalEndpoints;

/// Accepts and holds connections on a thread, dropping them in bulk to stay bounded. The backlog
/// is large, as in the reference sink: std's 128 would overflow and turn dials into 1 s SYN
/// retransmits, measuring the sink instead of the engine.
fn sink() -> SocketAddr {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    socket.listen(65_535).unwrap();
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            held.push(stream);
            if held.len() > 8192 {
                held.clear();
            }
        }
    });
    addr
}

fn plan(target: SocketAddr, n: u64) -> Plan {
    Plan {
        targets: vec![target],
        load: LoadConfig {
            connections: n,
            pacing: Pacing::Interval(Duration::ZERO),
            dial_timeout: Duration::from_secs(5),
            interval: None,
            hold: Duration::ZERO,
            max_dialing: 1024,
            // RST: no TIME_WAIT builds up across iterations.
            close: CloseMode::Rst,
            checks: Default::default(),
            shard: Default::default(),
        },
        local: LocalEndpoints::kernel(Vec::new()),
        name: Default::default(),
    }
}

fn loopback_run(c: &mut Criterion) {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let target = sink();
    let mut group = c.benchmark_group("engine/loopback");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for n in [1_000u64, 4_000] {
        group.throughput(Throughput::Elements(n));
        group.bench_function(format!("{n} connections"), |b| {
            b.iter(|| {
                let result = Engine::new(plan(target, n), None)
                    .unwrap()
                    .run(&mut ())
                    .unwrap();
                assert_eq!(result.counts.ever_established(), n);
                result
            })
        });
    }
    group.finish();
}

criterion_group!(benches, loopback_run);
criterion_main!(benches);
