//! A hierarchical timer wheel: every deadline of a run (dial timeouts, pacing, report ticks, the
//! hold) in O(1) insert and cancel, with the next deadline available as the poll timeout.
//!
//! A run holds up to one timer per connection being dialed plus a few global ones, and cancels
//! almost every dial timeout (connections usually succeed), so insert and cancel must be O(1)
//! and allocation-free. The design follows Varghese & Lauck: time is counted in 1 ms ticks since
//! the wheel was created; [`LEVELS`] levels of 64 slots each cover 64^level ms per slot. A timer
//! lives in the level given by the highest bit in which its deadline differs from the wheel's
//! current time, so it sits in a slot strictly after the current one. When time reaches a slot
//! of a higher level, its timers cascade down; at level 0 they fire. Entries live in a slab and
//! form doubly linked lists per slot (O(1) unlink); a 64-bit occupancy mask per level finds the
//! next non-empty slot with one `trailing_zeros`. Keys carry a generation so that a stale key
//! (a timer that already fired) can never cancel a newer timer that reused its slab entry.

use slab::Slab;

/// Bits of a level's slot index (64 slots per level).
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels: 64^6 ms, about 795 days, is the horizon.
pub const LEVELS: usize = 6;
/// Deadlines are clamped to this many ms after the wheel's creation (about 795 days).
pub const MAX_DEADLINE: u64 = (1 << (SLOT_BITS as usize * LEVELS)) - 1;
/// The bucket of timers whose deadline has passed but that have not been returned yet.
const DUE: usize = LEVELS * SLOTS;
const NIL: u32 = u32::MAX;

/// A handle to a scheduled timer, valid until it fires or is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
struct Entry<T> {
    deadline: u64,
    prev: u32,
    next: u32,
    bucket: u16,
    generation: u32,
    value: T,
}

/// A timer wheel holding values of type `T`, with 1 ms resolution.
#[derive(Debug)]
pub struct TimerWheel<T> {
    elapsed: u64,
    entries: Slab<Entry<T>>,
    heads: Box<[u32; DUE + 1]>,
    occupied: [u64; LEVELS],
    generation: u32,
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TimerWheel<T> {
    /// An empty wheel whose time is 0.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty wheel with room for `n` timers before it allocates.
    pub fn with_capacity(n: usize) -> Self {
        TimerWheel {
            elapsed: 0,
            entries: Slab::with_capacity(n),
            heads: Box::new([NIL; DUE + 1]),
            occupied: [0; LEVELS],
            generation: 0,
        }
    }

    /// The wheel's current time in ms: the `now` of the last [`advance`](Self::advance).
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of timers scheduled.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no timer is scheduled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Schedules `value` to fire at `deadline` (ms since the wheel's creation). A deadline at or
    /// before the current time fires on the next [`advance`](Self::advance).
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let index = self.entries.insert(Entry {
            deadline: deadline.min(MAX_DEADLINE),
            prev: NIL,
            next: NIL,
            bucket: 0,
            generation,
            value,
        });
        let index = u32::try_from(index).expect("fewer than 2^32 timers");
        self.link(index);
        TimerKey { index, generation }
    }

    /// Removes a timer and returns its value, or `None` if it already fired or was cancelled.
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        match self.entries.get(key.index as usize) {
            Some(e) if e.generation == key.generation => {}
            _ => return None,
        }
        self.unlink(key.index);
        Some(self.entries.remove(key.index as usize).value)
    }

    /// The earliest time at which [`advance`](Self::advance) has work to do: a timer's deadline,
    /// or the start of a higher-level slot whose timers must cascade. Never later than the
    /// earliest deadline; `None` when the wheel is empty.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.heads[DUE] != NIL {
            return Some(self.elapsed);
        }
        self.next_bucket().map(|(_, when)| when)
    }

    /// Moves time forward to `now` (ms) and appends the value of every timer whose deadline is
    /// at or before `now` to `fired`, in deadline order between slots.
    pub fn advance(&mut self, now: u64, fired: &mut Vec<T>) {
        let now = now.min(MAX_DEADLINE);
        loop {
            while self.heads[DUE] != NIL {
                let index = self.heads[DUE];
                self.unlink(index);
                fired.push(self.entries.remove(index as usize).value);
            }
            match self.next_bucket() {
                Some((bucket, when)) if when <= now => {
                    self.elapsed = self.elapsed.max(when);
                    let mut index = self.heads[bucket];
                    self.heads[bucket] = NIL;
                    self.occupied[bucket / SLOTS] &= !(1u64 << (bucket % SLOTS));
                    // The list is detached: due entries leave the slab directly, the others
                    // move down to the level their deadline now belongs in.
                    while index != NIL {
                        let entry = &self.entries[index as usize];
                        let next = entry.next;
                        if entry.deadline <= self.elapsed {
                            fired.push(self.entries.remove(index as usize).value);
                        } else {
                            self.link(index);
                        }
                        index = next;
                    }
                }
                _ => break,
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// The first non-empty slot and the time it is due, ignoring the DUE bucket.
    fn next_bucket(&self) -> Option<(usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let current = (self.elapsed >> shift) & (SLOTS as u64 - 1);
            // Invariant: every occupied slot of a level lies strictly after the current one.
            debug_assert_eq!(occupied & ((2u64 << current).wrapping_sub(1)), 0);
            let slot = u64::from(occupied.trailing_zeros());
            let window = self.elapsed & !((1u64 << (shift + SLOT_BITS)) - 1);
            return Some((level * SLOTS + slot as usize, window + (slot << shift)));
        }
        None
    }

    fn bucket_for(&self, deadline: u64) -> usize {
        if deadline <= self.elapsed {
            return DUE;
        }
        let masked = (deadline ^ self.elapsed) | (SLOTS as u64 - 1);
        let level = ((63 - masked.leading_zeros()) / SLOT_BITS) as usize;
        let slot = ((deadline >> (SLOT_BITS as usize * level)) as usize) & (SLOTS - 1);
        level * SLOTS + slot
    }

    /// Pushes entry `index` at the front of the bucket its deadline belongs in.
    fn link(&mut self, index: u32) {
        let bucket = self.bucket_for(self.entries[index as usize].deadline);
        let head = self.heads[bucket];
        {
            let e = &mut self.entries[index as usize];
            e.bucket = bucket as u16;
            e.prev = NIL;
            e.next = head;
        }
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        self.heads[bucket] = index;
        if bucket != DUE {
            self.occupied[bucket / SLOTS] |= 1u64 << (bucket % SLOTS);
        }
    }

    /// Takes entry `index` out of its bucket's list.
    fn unlink(&mut self, index: u32) {
        let (prev, next, bucket) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.bucket as usize)
        };
        if prev == NIL {
            self.heads[bucket] = next;
            if next == NIL && bucket != DUE {
                self.occupied[bucket / SLOTS] &= !(1u64 << (bucket % SLOTS));
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn fires_at_the_deadline_and_not_before() {
        let mut w = TimerWheel::new();
        w.insert(5, 'a');
        w.insert(70, 'b');
        w.insert(5000, 'c');
        let mut fired = Vec::new();
        w.advance(4, &mut fired);
        assert!(fired.is_empty());
        assert_eq!(w.next_deadline(), Some(5));
        w.advance(5, &mut fired);
        assert_eq!(fired, vec!['a']);
        w.advance(69, &mut fired);
        assert_eq!(fired, vec!['a']);
        w.advance(70, &mut fired);
        assert_eq!(fired, vec!['a', 'b']);
        w.advance(1_000_000, &mut fired);
        assert_eq!(fired, vec!['a', 'b', 'c']);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn past_deadlines_fire_on_the_next_advance() {
        let mut w = TimerWheel::new();
        let mut fired = Vec::new();
        w.advance(100, &mut fired);
        w.insert(3, 1);
        w.insert(100, 2);
        assert_eq!(w.next_deadline(), Some(100));
        w.advance(100, &mut fired);
        fired.sort();
        assert_eq!(fired, vec![1, 2]);
    }

    #[test]
    fn a_stale_key_cannot_cancel_a_newer_timer() {
        let mut w = TimerWheel::new();
        let old = w.insert(1, "old");
        let mut fired = Vec::new();
        w.advance(1, &mut fired);
        let new = w.insert(10, "new"); // reuses the slab entry of "old"
        assert_eq!(w.cancel(old), None);
        assert_eq!(w.cancel(new), Some("new"));
        assert_eq!(w.cancel(new), None);
    }

    #[test]
    fn far_deadlines_are_clamped_to_the_horizon() {
        let mut w = TimerWheel::new();
        w.insert(u64::MAX, ());
        assert!(w.next_deadline().unwrap() <= MAX_DEADLINE);
        let mut fired = Vec::new();
        w.advance(MAX_DEADLINE, &mut fired);
        assert_eq!(fired.len(), 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        Cancel(usize),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // Deltas that exercise every level, including deadlines already in the past.
            4 => prop_oneof![0u64..70, 0u64..5_000, 0u64..300_000, 0u64..20_000_000]
                .prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Cancel),
            3 => prop_oneof![0u64..10, 0u64..200, 0u64..10_000, 0u64..5_000_000].prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn behaves_like_an_ordered_map(ops in proptest::collection::vec(op(), 1..300)) {
            let mut wheel = TimerWheel::new();
            // The model: id -> deadline, plus the keys of live timers.
            let mut model: BTreeMap<u64, u64> = BTreeMap::new();
            let mut keys: Vec<(u64, TimerKey)> = Vec::new();
            let mut now = 0u64;
            let mut next_id = 0u64;
            let mut fired = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(delta) => {
                        // Sometimes schedule in the past to cover the DUE bucket.
                        let deadline = if delta % 7 == 0 { now.saturating_sub(delta) } else { now + delta };
                        let key = wheel.insert(deadline, next_id);
                        model.insert(next_id, deadline);
                        keys.push((next_id, key));
                        next_id += 1;
                    }
                    Op::Cancel(i) => {
                        if !keys.is_empty() {
                            let (id, key) = keys.swap_remove(i % keys.len());
                            prop_assert_eq!(wheel.cancel(key), Some(id));
                            model.remove(&id);
                        }
                    }
                    Op::Advance(delta) => {
                        now += delta;
                        fired.clear();
                        wheel.advance(now, &mut fired);
                        fired.sort_unstable();
                        let expected: Vec<u64> = model.iter().filter(|(_, &d)| d <= now).map(|(&id, _)| id).collect();
                        prop_assert_eq!(&fired, &expected);
                        for id in &expected { model.remove(id); }
                        keys.retain(|(id, _)| model.contains_key(id));
                    }
                }
                prop_assert_eq!(wheel.len(), model.len());
                let earliest = model.values().min().copied();
                match (wheel.next_deadline(), earliest) {
                    (None, None) => {}
                    (Some(next), Some(earliest)) => {
                        prop_assert!(next <= earliest.max(now), "next {} earliest {}", next, earliest);
                        prop_assert!(next >= now.min(earliest));
                    }
                    (a, b) => prop_assert!(false, "next_deadline {:?} but model earliest {:?}", a, b),
                }
            }
        }
    }
}
