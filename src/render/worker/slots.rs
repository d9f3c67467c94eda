//! The pool's render slots, shared fairly between tenants (organizations): a tenant holds at most
//! its share of the slots at once, and when slots are short the waiting tenants are served in
//! turn (round-robin), each tenant's own renders first come first served. Two looping previews of
//! one organization then take its share, not every slot, and another organization's document
//! still renders.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// Whom a render is for: an organization's id. Renders without one (tests, tools) share
/// [`Tenant::nil`]'s share.
pub type Tenant = uuid::Uuid;

pub(super) struct Slots {
    size: usize,
    /// Most slots one tenant holds at once.
    share: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    free: usize,
    held: HashMap<Tenant, usize>,
    /// Tenants with waiting renders, in the order they are served next.
    turns: VecDeque<Tenant>,
    /// Each tenant's waiting renders, oldest first.
    waiters: HashMap<Tenant, VecDeque<(u64, oneshot::Sender<()>)>>,
    waiting: usize,
    next_waiter: u64,
}

/// A held slot, given back (to the next tenant in turn) when dropped.
pub(super) struct Slot {
    slots: Arc<Slots>,
    tenant: Tenant,
}

/// A render waiting for a slot. Dropped before it got one (the caller went away), it leaves the
/// queue; dropped just as it got one, it passes the slot on.
struct Waiter {
    slots: Arc<Slots>,
    tenant: Tenant,
    id: u64,
    rx: oneshot::Receiver<()>,
    served: bool,
}

impl Slots {
    /// `size` slots; `share` of them at most per tenant (0: half the slots, rounded up).
    pub(super) fn new(size: usize, share: usize) -> Self {
        let size = size.max(1);
        let share = if share == 0 { size.div_ceil(2) } else { share.min(size) };
        let state = State { free: size, ..State::default() };
        Slots { size, share, state: Mutex::new(state) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// (slots in use, renders waiting).
    pub(super) fn load(&self) -> (usize, usize) {
        let state = self.lock();
        (self.size - state.free, state.waiting)
    }

    /// A slot for `tenant`: at once when one is free and the tenant is under its share, else
    /// when its turn comes.
    pub(super) async fn acquire(self: &Arc<Self>, tenant: Tenant) -> Slot {
        let (id, rx) = {
            let mut state = self.lock();
            if state.free > 0 && state.held_by(tenant) < self.share {
                state.take(tenant);
                return Slot { slots: self.clone(), tenant };
            }
            state.enqueue(tenant)
        };
        let mut waiter = Waiter { slots: self.clone(), tenant, id, rx, served: false };
        // The sender stays in the queue until it is sent: a waiter leaves the queue only in its drop.
        let _ = (&mut waiter.rx).await;
        waiter.served = true;
        Slot { slots: self.clone(), tenant }
    }
}

impl State {
    fn held_by(&self, tenant: Tenant) -> usize {
        self.held.get(&tenant).copied().unwrap_or(0)
    }

    fn take(&mut self, tenant: Tenant) {
        self.free -= 1;
        *self.held.entry(tenant).or_insert(0) += 1;
    }

    fn enqueue(&mut self, tenant: Tenant) -> (u64, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next_waiter;
        self.next_waiter += 1;
        let queue = self.waiters.entry(tenant).or_default();
        if queue.is_empty() {
            self.turns.push_back(tenant);
        }
        queue.push_back((id, tx));
        self.waiting += 1;
        (id, rx)
    }

    fn leave(&mut self, tenant: Tenant, id: u64) {
        let Some(queue) = self.waiters.get_mut(&tenant) else { return };
        let before = queue.len();
        queue.retain(|(waiter, _)| *waiter != id);
        self.waiting -= before - queue.len();
        if queue.is_empty() {
            self.waiters.remove(&tenant);
            self.turns.retain(|t| *t != tenant);
        }
    }

    /// Gives a slot back and hands the free slots to the waiting tenants under their share, in turn.
    fn give_back(&mut self, tenant: Tenant, share: usize) {
        self.free += 1;
        if let Some(held) = self.held.get_mut(&tenant) {
            *held -= 1;
            if *held == 0 {
                self.held.remove(&tenant);
            }
        }
        while self.free > 0 {
            let Some(position) = self.turns.iter().position(|t| self.held_by(*t) < share) else { break };
            let next = self.turns.remove(position).expect("a position of turns");
            let queue = self.waiters.get_mut(&next).expect("a tenant in turn has waiters");
            let (_, tx) = queue.pop_front().expect("a tenant in turn has waiters");
            if queue.is_empty() {
                self.waiters.remove(&next);
            } else {
                self.turns.push_back(next);
            }
            self.waiting -= 1;
            self.take(next);
            // A waiter leaves the queue (under this lock) before its receiver goes: this is received.
            if tx.send(()).is_err() {
                self.free += 1;
                *self.held.get_mut(&next).expect("just taken") -= 1;
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().give_back(self.tenant, self.slots.share);
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if self.served {
            return;
        }
        let mut state = self.slots.lock();
        match self.rx.try_recv() {
            // Served as the caller went away: the slot goes to the next in turn.
            Ok(()) => state.give_back(self.tenant, self.slots.share),
            Err(_) => state.leave(self.tenant, self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use futures_util::FutureExt;

    fn tenant(n: u128) -> Tenant {
        Tenant::from_u128(n)
    }

    #[tokio::test]
    async fn a_tenant_holds_at_most_its_share_and_another_gets_the_rest() {
        let slots = Arc::new(Slots::new(2, 0));
        let (a, b) = (tenant(1), tenant(2));
        let _a1 = slots.acquire(a).await;
        let mut a2 = Box::pin(slots.acquire(a));
        assert!(a2.as_mut().now_or_never().is_none(), "a second slot for a, past its share of one");
        let b1 = slots.acquire(b).now_or_never().expect("b gets the free slot at once");
        assert_eq!(slots.load(), (2, 1));
        drop(b1);
        // The freed slot stays free: a is still at its share.
        assert_eq!(slots.load(), (1, 1));
        assert!(a2.as_mut().now_or_never().is_none());
    }

    #[tokio::test]
    async fn waiting_tenants_are_served_in_turn_not_first_come_first_served() {
        let slots = Arc::new(Slots::new(1, 1));
        let (a, b) = (tenant(1), tenant(2));
        let held = slots.acquire(a).await;
        let mut a_waiting: Vec<_> = (0..3).map(|_| Box::pin(slots.acquire(a))).collect();
        for waiting in &mut a_waiting {
            assert!(waiting.as_mut().now_or_never().is_none());
        }
        let mut b_waiting = Box::pin(slots.acquire(b));
        assert!(b_waiting.as_mut().now_or_never().is_none());
        assert_eq!(slots.load(), (1, 4));

        drop(held);
        // a was first in line, so a's oldest is served; b comes next, before a's other two.
        let a_first = a_waiting.remove(0).now_or_never().expect("a's oldest waiter is served");
        drop(a_first);
        let _b = b_waiting.as_mut().now_or_never().expect("then b's, before a's others");
        assert_eq!(slots.load(), (1, 2));
    }

    #[tokio::test]
    async fn a_waiter_that_goes_away_leaves_the_queue() {
        let slots = Arc::new(Slots::new(1, 1));
        let held = slots.acquire(tenant(1)).await;
        let mut gone = Box::pin(slots.acquire(tenant(2)));
        assert!(gone.as_mut().now_or_never().is_none());
        assert_eq!(slots.load(), (1, 1));
        drop(gone);
        assert_eq!(slots.load(), (1, 0));
        drop(held);
        assert_eq!(slots.load(), (0, 0));
        slots.acquire(tenant(3)).now_or_never().expect("the slot is free");
    }

    #[tokio::test]
    async fn a_waiter_served_as_it_goes_away_passes_the_slot_on() {
        let slots = Arc::new(Slots::new(1, 1));
        let held = slots.acquire(tenant(1)).await;
        let mut served_but_gone = Box::pin(slots.acquire(tenant(2)));
        assert!(served_but_gone.as_mut().now_or_never().is_none());
        let mut next = Box::pin(slots.acquire(tenant(3)));
        assert!(next.as_mut().now_or_never().is_none());
        drop(held); // tenant 2 is served…
        drop(served_but_gone); // …but went away before it looked
        let _next = next.as_mut().now_or_never().expect("tenant 3 gets the slot");
        assert_eq!(slots.load(), (1, 0));
    }
}
