//! Connect-time statistics that are exact, mergeable and cheap to update.
//!
//! The report prints Go-compatible min/avg/max/population-deviation lines, and later features
//! (runs split over many machines, thresholds in CI) need numbers that merge *exactly*. So a
//! [`LatencyStats`] keeps integer nanosecond sums (count, sum, sum of squares, min, max) from which
//! every Go figure is derived without rounding drift, plus an HDR histogram for percentiles. Each
//! record is O(1) and allocation-free; no per-connection sample is stored.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest value the percentile histogram tracks, in microseconds (one hour). Larger samples are
/// clamped into the top bucket for percentiles only; min/max/avg/dev stay exact.
const HIST_MAX_MICROS: u64 = 3_600_000_000;

/// Exact running statistics of a set of durations, plus a histogram for percentiles.
#[derive(Debug, Clone)]
pub struct LatencyStats {
    count: u64,
    sum_ns: u128,
    sum_sq_ns: u128,
    min_ns: u64,
    max_ns: u64,
    hist: Histogram<u64>,
}

/// The figures the Go report prints, derived from a [`LatencyStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Smallest sample.
    pub min: Duration,
    /// Integer mean (sum / count, truncated, as Go's `Duration` division).
    pub avg: Duration,
    /// Largest sample.
    pub max: Duration,
    /// Population standard deviation around the integer mean.
    pub dev: Duration,
}

impl Default for LatencyStats {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyStats {
    /// An empty set.
    pub fn new() -> Self {
        // 3 significant digits between 1 µs and one hour: about 180 KiB, allocated once.
        let hist = Histogram::new_with_bounds(1, HIST_MAX_MICROS, 3)
            .expect("constant histogram bounds are valid");
        LatencyStats {
            count: 0,
            sum_ns: 0,
            sum_sq_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            hist,
        }
    }

    /// Adds one sample.
    #[inline]
    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.sum_sq_ns = self
            .sum_sq_ns
            .saturating_add(u128::from(ns) * u128::from(ns));
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
        let micros = (ns / 1_000).clamp(1, HIST_MAX_MICROS);
        self.hist.saturating_record(micros);
    }

    /// Adds every sample of `other`: the result is the same as recording both sets into one.
    pub fn merge(&mut self, other: &LatencyStats) {
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.sum_sq_ns = self.sum_sq_ns.saturating_add(other.sum_sq_ns);
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Everything that defines the set, for a saved report: the count, the exact sums of the
    /// samples and of their squares (ns, ns²), the exact minimum and maximum (ns; 0 when
    /// empty), and the histogram (µs).
    pub fn parts(&self) -> (u64, u128, u128, u64, u64, &Histogram<u64>) {
        let min = if self.count == 0 { 0 } else { self.min_ns };
        (
            self.count,
            self.sum_ns,
            self.sum_sq_ns,
            min,
            self.max_ns,
            &self.hist,
        )
    }

    /// The set [`parts`](Self::parts) described, exactly; or why the parts cannot describe a
    /// set: a histogram that does not fit the bounds every set uses or disagrees with the count,
    /// a minimum above the maximum, or a mean outside them.
    pub fn from_parts(
        count: u64,
        sum_ns: u128,
        sum_sq_ns: u128,
        min_ns: u64,
        max_ns: u64,
        hist: &Histogram<u64>,
    ) -> Result<LatencyStats, String> {
        let mut stats = LatencyStats::new();
        stats
            .hist
            .add(hist)
            .map_err(|_| "the histogram's bounds are not the ones tcpgoon uses".to_string())?;
        if stats.hist.len() != count {
            return Err(format!(
                "the histogram holds {} samples, the count is {count}",
                stats.hist.len()
            ));
        }
        if count > 0 {
            if min_ns > max_ns {
                return Err(format!(
                    "the minimum ({min_ns} ns) is above the maximum ({max_ns} ns)"
                ));
            }
            let mean = sum_ns / u128::from(count);
            if mean < u128::from(min_ns) || mean > u128::from(max_ns) {
                return Err(format!(
                    "the mean ({mean} ns, from the sum) is outside the minimum and maximum \
                     ({min_ns} ns to {max_ns} ns)"
                ));
            }
            stats.min_ns = min_ns;
            stats.max_ns = max_ns;
        } else if sum_ns != 0 || sum_sq_ns != 0 {
            return Err("no samples, yet the sums are not 0".to_string());
        }
        stats.count = count;
        stats.sum_ns = sum_ns;
        stats.sum_sq_ns = sum_sq_ns;
        Ok(stats)
    }

    /// The Go report's figures, or `None` when there is no sample.
    pub fn summary(&self) -> Option<Summary> {
        if self.count == 0 {
            return None;
        }
        let n = u128::from(self.count);
        let mean = self.sum_ns / n;
        // Σ(x - m)² = Σx² - 2mΣx + n·m², exact in integers (m is the truncated mean, as in Go).
        let squares = (self.sum_sq_ns + n * mean * mean).saturating_sub(2 * mean * self.sum_ns);
        let dev = ((squares as f64) / (n as f64)).sqrt();
        Some(Summary {
            count: self.count,
            min: Duration::from_nanos(self.min_ns),
            avg: Duration::from_nanos(mean as u64),
            max: Duration::from_nanos(self.max_ns),
            dev: Duration::from_nanos(dev as u64),
        })
    }

    /// The value at quantile `q` (0.0 to 1.0), at microsecond resolution with 3 significant
    /// digits, or `None` when empty. The histogram answers with the top of a bucket, which can
    /// lie above every sample: the answer is kept between the exact minimum and maximum, so
    /// that a p50 never reads above the max (both at microsecond resolution, as reported).
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        (self.count > 0).then(|| {
            // max then min rather than clamp: never a panic, even if min > max.
            Duration::from_micros(self.hist.value_at_quantile(q))
                .max(Duration::from_micros(self.min_ns / 1_000))
                .min(Duration::from_micros(self.max_ns / 1_000))
        })
    }
}

/// How many connections failed for each reason, keyed by OS error number.
///
/// A run sees only a handful of distinct reasons, so a small vector beats a map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorTally {
    by_errno: Vec<(i32, u64)>,
}

impl ErrorTally {
    /// Counts one failure with OS error `errno`.
    pub fn add(&mut self, errno: i32) {
        self.add_n(errno, 1);
    }

    fn add_n(&mut self, errno: i32, n: u64) {
        match self.by_errno.iter_mut().find(|(e, _)| *e == errno) {
            Some((_, c)) => *c += n,
            None => self.by_errno.push((errno, n)),
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &ErrorTally) {
        for &(e, n) in &other.by_errno {
            self.add_n(e, n);
        }
    }

    /// The reasons, most frequent first (ties by errno, so the order is stable).
    pub fn sorted(&self) -> Vec<(i32, u64)> {
        let mut v = self.by_errno.clone();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// A tally with these counts per OS error number (as [`sorted`](Self::sorted) lists them).
    pub fn from_counts(counts: &[(i32, u64)]) -> ErrorTally {
        let mut tally = ErrorTally::default();
        for &(errno, n) in counts {
            match tally.by_errno.iter_mut().find(|(e, _)| *e == errno) {
                Some((_, total)) => *total += n,
                None => tally.by_errno.push((errno, n)),
            }
        }
        tally
    }

    /// Total failures counted.
    pub fn total(&self) -> u64 {
        self.by_errno.iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn us(v: u64) -> Duration {
        Duration::from_micros(v)
    }

    #[test]
    fn empty_has_no_summary() {
        assert_eq!(LatencyStats::new().summary(), None);
        assert_eq!(LatencyStats::new().quantile(0.5), None);
    }

    /// Seen in a report: lifetimes p50 2.003967s above a max of 2.003129s, the top of the
    /// histogram's bucket instead of a sample.
    #[test]
    fn quantiles_stay_within_the_samples() {
        let mut s = LatencyStats::new();
        for nanos in [2_002_843_100, 2_003_129_900, 2_003_000_000] {
            s.record(Duration::from_nanos(nanos));
        }
        let (min, max) = (us(2_002_843), us(2_003_129));
        for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
            let v = s.quantile(q).unwrap();
            assert!(
                (min..=max).contains(&v),
                "q{q}: {v:?} outside {min:?}..={max:?}"
            );
        }
        assert_eq!(s.quantile(1.0), Some(max));
    }

    /// Parts that cannot describe a set are refused, with the reason; the parts of a real set
    /// come back.
    #[test]
    fn inconsistent_parts_are_refused() {
        let mut s = LatencyStats::new();
        for v in [5, 7, 9] {
            s.record(us(v));
        }
        let (count, sum, sq, min, max, hist) = s.parts();
        let hist = hist.clone();
        let back = LatencyStats::from_parts(count, sum, sq, min, max, &hist).unwrap();
        assert_eq!(back.summary(), s.summary());
        let e = LatencyStats::from_parts(count, sum, sq, max, min, &hist).unwrap_err();
        assert!(e.contains("above the maximum"), "{e}");
        let e = LatencyStats::from_parts(count, sum, sq, min, 0, &hist).unwrap_err();
        assert!(e.contains("above the maximum"), "{e}");
        let e = LatencyStats::from_parts(count, sum, sq, min, min, &hist).unwrap_err();
        assert!(e.contains("mean"), "{e}");
        let e = LatencyStats::from_parts(count + 1, sum, sq, min, max, &hist).unwrap_err();
        assert!(
            e.contains("histogram holds 3 samples, the count is 4"),
            "{e}"
        );
        let e = LatencyStats::from_parts(0, sum, sq, 0, 0, &LatencyStats::new().hist).unwrap_err();
        assert!(e.contains("sums"), "{e}");
    }

    /// Whatever the fields hold, a quantile is an answer, never a panic.
    #[test]
    fn quantile_never_panics_on_crossed_bounds() {
        let mut s = LatencyStats::new();
        s.record(us(500));
        s.min_ns = 9_000_000;
        s.max_ns = 0;
        for q in [0.0, 0.5, 1.0] {
            assert!(s.quantile(q).is_some());
        }
    }

    #[test]
    fn population_deviation_of_a_known_set() {
        let mut s = LatencyStats::new();
        for v in [2, 4, 4, 4, 5, 5, 7, 9] {
            s.record(us(v));
        }
        let sum = s.summary().unwrap();
        assert_eq!(sum.count, 8);
        assert_eq!(sum.min, us(2));
        assert_eq!(sum.max, us(9));
        assert_eq!(sum.avg, us(5));
        assert_eq!(sum.dev, us(2)); // the textbook population deviation of this set is exactly 2
    }

    #[test]
    fn min_is_the_true_minimum() {
        let mut s = LatencyStats::new();
        s.record(Duration::from_secs(5));
        s.record(Duration::from_nanos(37));
        assert_eq!(s.summary().unwrap().min, Duration::from_nanos(37));
    }

    #[test]
    fn error_tally_orders_by_frequency() {
        let mut t = ErrorTally::default();
        t.add(111);
        t.add(110);
        t.add(110);
        assert_eq!(t.sorted(), vec![(110, 2), (111, 1)]);
        assert_eq!(t.total(), 3);
    }

    proptest! {
        #[test]
        fn summary_matches_a_float_model(xs in proptest::collection::vec(0u64..10_000_000_000, 1..200)) {
            let mut s = LatencyStats::new();
            for &x in &xs { s.record(Duration::from_nanos(x)); }
            let sum = s.summary().unwrap();
            let n = xs.len() as u128;
            let mean = xs.iter().map(|&x| x as u128).sum::<u128>() / n;
            let var = xs.iter().map(|&x| { let d = x as f64 - mean as f64; d * d }).sum::<f64>() / n as f64;
            prop_assert_eq!(sum.avg.as_nanos(), mean);
            prop_assert_eq!(sum.min.as_nanos() as u64, *xs.iter().min().unwrap());
            prop_assert_eq!(sum.max.as_nanos() as u64, *xs.iter().max().unwrap());
            let dev = sum.dev.as_nanos() as f64;
            prop_assert!((dev - var.sqrt()).abs() <= 1.0 + var.sqrt() * 1e-9, "{} vs {}", dev, var.sqrt());
        }

        #[test]
        fn merging_equals_recording_together(a in proptest::collection::vec(0u64..1_000_000_000, 0..50),
                                             b in proptest::collection::vec(0u64..1_000_000_000, 0..50)) {
            let mut left = LatencyStats::new();
            let mut right = LatencyStats::new();
            let mut both = LatencyStats::new();
            for &x in &a { left.record(Duration::from_nanos(x)); both.record(Duration::from_nanos(x)); }
            for &x in &b { right.record(Duration::from_nanos(x)); both.record(Duration::from_nanos(x)); }
            left.merge(&right);
            prop_assert_eq!(left.summary(), both.summary());
            prop_assert_eq!(left.quantile(0.99), both.quantile(0.99));
        }
    }
}
