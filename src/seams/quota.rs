//! At most so many at once per key (a user's live subscriptions): a place is held while its
//! [`Held`] guard lives, and given back when the guard drops (the stream ended or was dropped).
//! Counted in this process: what it bounds is this process's memory.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use uuid::Uuid;

type Counts = Arc<Mutex<HashMap<Uuid, usize>>>;

pub struct Quota {
    /// 0: no limit.
    max: usize,
    held: Counts,
}

/// One place of a [`Quota`], given back on drop.
pub struct Held {
    key: Uuid,
    held: Counts,
}

impl Quota {
    /// At most `max` places per key at once; 0 turns the limit off.
    pub fn new(max: usize) -> Self {
        Quota { max, held: Default::default() }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for `key`, or `None` when it holds `max` already.
    pub fn try_hold(&self, key: Uuid) -> Option<Held> {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = held.entry(key).or_insert(0);
        if self.max > 0 && *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Held { key, held: self.held.clone() })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_at_most_max_places_and_gets_them_back_on_drop() {
        let quota = Quota::new(2);
        let (user, other) = (Uuid::new_v4(), Uuid::new_v4());
        let first = quota.try_hold(user).expect("a first place");
        let _second = quota.try_hold(user).expect("a second place");
        assert!(quota.try_hold(user).is_none(), "a third place");
        assert!(quota.try_hold(other).is_some(), "another key has its own places");
        drop(first);
        assert!(quota.try_hold(user).is_some(), "a place given back is free again");
    }

    #[test]
    fn zero_is_no_limit() {
        let quota = Quota::new(0);
        let user = Uuid::new_v4();
        let held: Vec<_> = (0..100).map(|_| quota.try_hold(user).expect("a place")).collect();
        assert_eq!(held.len(), 100);
    }
}
