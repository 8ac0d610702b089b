//! Timer wheel costs at the sizes a large run reaches: insert + cancel (a dial that succeeds),
//! and expiry (dial timeouts firing), with 10^5 and 10^6 timers already scheduled.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tcpgoon::engine::wheel::TimerWheel;

/// Deterministic pseudo-random deadlines (xorshift), spread over `span` ms.
fn deadlines(n: usize, span: u64) -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % span
        })
        .collect()
}

fn filled(n: usize, span: u64) -> TimerWheel<u64> {
    let mut w = TimerWheel::with_capacity(n + 1);
    for (i, d) in deadlines(n, span).into_iter().enumerate() {
        w.insert(d, i as u64);
    }
    w
}

fn insert_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("wheel/insert+cancel");
    for n in [100_000usize, 1_000_000] {
        let mut w = filled(n, 600_000);
        let mut k = 0u64;
        group.bench_function(format!("{n} timers"), |b| {
            b.iter(|| {
                // A dial timeout 5 s out, cancelled when the handshake completes.
                k = k.wrapping_add(7);
                let key = w.insert(5_000 + (k & 1023), k);
                black_box(w.cancel(key))
            })
        });
    }
    group.finish();
}

/// Timers inserted in deadline order, as the engine inserts dial timeouts (now + a constant).
fn filled_in_order(n: usize, span: u64) -> TimerWheel<u64> {
    let mut w = TimerWheel::with_capacity(n + 1);
    for i in 0..n as u64 {
        w.insert(1 + i * span / n as u64, i);
    }
    w
}

fn expire(c: &mut Criterion) {
    let mut group = c.benchmark_group("wheel/expire");
    for (order, fill) in [
        ("random", filled as fn(usize, u64) -> TimerWheel<u64>),
        ("in order", filled_in_order),
    ] {
        expire_case(&mut group, order, fill);
    }
    group.finish();
}

fn expire_case(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    order: &str,
    fill: fn(usize, u64) -> TimerWheel<u64>,
) {
    for n in [100_000usize, 1_000_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.sample_size(10);
        group.bench_function(format!("{n} timers, deadlines {order}"), |b| {
            b.iter_batched(
                || (fill(n, 10_000), Vec::with_capacity(n)),
                |(mut w, mut fired)| {
                    // Advance in 1 ms steps, as the engine does, through every deadline.
                    for now in 1..=10_001 {
                        w.advance(now, &mut fired);
                    }
                    assert_eq!(fired.len(), n);
                    (w, fired)
                },
                BatchSize::LargeInput,
            )
        });
    }
}

criterion_group!(benches, insert_cancel, expire);
criterion_main!(benches);
