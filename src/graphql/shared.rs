//! Subscriptions run once for every subscriber that would see the same thing.
//!
//! Ten thousand brokers of one organization watching `jobEvents` all get the same answer to each
//! event. Run per subscriber, every event costs ten thousand executions of the selection, ten
//! thousand serialisations and ten thousand copies of async-graphql's per-operation state held
//! between events. Here the subscribers whose operation is the same (text, operation name,
//! variables) and whose principals see the same thing (a [`SharedField`]'s `audience`) form a
//! *group*: the operation runs once for the group, each answer is serialised once, and every
//! member receives that text. A member holds a receiver, its own place among the user's
//! subscriptions and its request's data; the group goes with its last member.
//!
//! Only what gives a late subscriber exactly what an early one gets from then on is shared: a
//! root field declared here, alone in its operation, without directives, for which `live_only`
//! holds (`jobEvents` without `since`: no replay, no first state, only what happens next). Every
//! other subscription runs per subscriber, as before.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use async_graphql::{
    ServerError, Value, Variables,
    parser::types::{OperationDefinition, Selection},
};
use futures_util::{Stream, StreamExt, future::AbortHandle, stream::BoxStream};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use prometheus_client::metrics::gauge::Gauge;

use crate::{error::AppError, principal::Principal, state::AppState};

/// A subscriber's place among the user's live subscriptions, held as long as it lives.
pub type Admission = Box<dyn std::any::Any + Send>;

/// A root subscription field whose live answers may be shared.
#[derive(Clone, Copy)]
pub struct SharedField {
    /// The field's name in the schema (`jobEvents`).
    pub name: &'static str,
    /// Whether, with these arguments, the field streams only what happens from now on (no
    /// replay, no current state first): then a subscriber joining a running group misses
    /// nothing a subscription of its own would have given it.
    pub live_only: fn(&Arguments<'_>) -> bool,
    /// What the answers depend on, of the caller: two principals with equal audiences must get
    /// the same answer to every field reachable from this one.
    pub audience: fn(&Principal) -> Audience,
    /// Admits one more subscriber (its place among the user's live subscriptions, held as long
    /// as the returned value lives); the error is the one the field itself would answer.
    pub admit: fn(&AppState, &Principal) -> Result<Admission, AppError>,
}

/// What a principal sees through a [`SharedField`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Audience {
    pub org_id: uuid::Uuid,
    pub role: crate::principal::Role,
    /// Set when what is seen depends on who the caller is within the role (an AGENT's own).
    pub user_id: Option<uuid::Uuid>,
}

/// Request data of a group's execution: the field admits each member itself (see
/// [`SharedField::admit`]) and must not count the group as one more subscriber.
pub struct SharedExecution;

/// The arguments of a root field, variables resolved (their default when the request has none).
pub struct Arguments<'a> {
    field: &'a async_graphql::parser::types::Field,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
}

impl Arguments<'_> {
    /// The argument's value; `Null` when it is absent.
    pub fn get(&self, name: &str) -> Value {
        let Some((_, value)) = self.field.arguments.iter().find(|(n, _)| n.node.as_str() == name) else {
            return Value::Null;
        };
        value
            .node
            .clone()
            .into_const_with(|var| {
                Ok::<_, std::convert::Infallible>(match self.variables.get(&var) {
                    Some(v) => v.clone(),
                    None => self
                        .operation
                        .variable_definitions
                        .iter()
                        .find(|d| d.node.name.node == var)
                        .and_then(|d| d.node.default_value.as_ref().map(|v| v.node.clone()))
                        .unwrap_or(Value::Null),
                })
            })
            .unwrap_or(Value::Null)
    }
}

/// Which group a subscriber belongs to.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    query: Arc<str>,
    operation_name: Option<String>,
    variables: String,
    audience: Audience,
}

/// What a group sends its members: an answer serialised once, or (should the operation fail as
/// a whole, which validation before the group forms rules out) its errors.
#[derive(Clone)]
pub enum Frame {
    Json(Arc<str>),
    Errors(Arc<Vec<ServerError>>),
}

/// What a shared subscriber is admitted with: its group's key and the field's admission.
pub struct Admitted {
    pub key: GroupKey,
    pub admission: Admission,
}

type Sender = Arc<Mutex<Option<broadcast::Sender<Frame>>>>;

/// A subscriber's admission and request data, held while its stream (not shared) lives.
pub struct Held {
    _admission: Admission,
    _data: async_graphql::Data,
}

impl Held {
    pub fn new(admitted: Admitted, data: async_graphql::Data) -> Self {
        Held { _admission: admitted.admission, _data: data }
    }
}

/// Events a group keeps for its slowest member; one further behind skips what it missed, as a
/// subscriber of the event bus does.
const GROUP_CAPACITY: usize = 256;

type Live = Arc<Mutex<HashMap<GroupKey, Weak<Group>>>>;

/// The live groups, by key.
pub struct Groups {
    fields: Vec<SharedField>,
    live: Live,
    /// `graphql_subscription_groups`: how many run.
    gauge: Gauge,
}

/// One running execution and its members' channel; aborted when its last member goes.
pub struct Group {
    key: GroupKey,
    /// The channel's only sender, taken away when the answers end: the members' streams then end.
    tx: Sender,
    task: AbortHandle,
    live: Weak<Mutex<HashMap<GroupKey, Weak<Group>>>>,
    gauge: Gauge,
}

impl Drop for Group {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(live) = self.live.upgrade() {
            let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
            // Only this group's entry: a new group may have taken the key meanwhile.
            if live.get(&self.key).is_some_and(|w| std::ptr::eq(w.as_ptr(), self)) {
                live.remove(&self.key);
            }
            self.gauge.set(i64::try_from(live.len()).unwrap_or(i64::MAX));
        }
    }
}

/// One member's answers; holding it keeps the group (and the member's admission) alive.
pub struct Member {
    frames: BroadcastStream<Frame>,
    _group: Arc<Group>,
    _held: Admission,
    _data: async_graphql::Data,
}

impl Stream for Member {
    type Item = Frame;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Frame>> {
        loop {
            match std::task::ready!(self.frames.poll_next_unpin(cx)) {
                Some(Ok(frame)) => return std::task::Poll::Ready(Some(frame)),
                // Fell behind: what it missed is skipped, as for a subscriber of the bus.
                Some(Err(_)) => continue,
                None => return std::task::Poll::Ready(None),
            }
        }
    }
}

impl Groups {
    pub fn new(fields: Vec<SharedField>, gauge: Gauge) -> Self {
        Groups { fields, live: Default::default(), gauge }
    }

    /// The group this subscription would join, and the subscriber admitted; `None` when it is
    /// not shareable or not admitted (it then runs on its own, and answers the refusal itself).
    pub fn admit(
        &self,
        state: &AppState,
        principal: &Principal,
        query: &str,
        operation: &OperationDefinition,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Option<Admitted> {
        if !operation.directives.is_empty() || operation.selection_set.node.items.len() != 1 {
            return None;
        }
        let Selection::Field(field) = &operation.selection_set.node.items[0].node else { return None };
        let field = &field.node;
        if !field.directives.is_empty() {
            return None;
        }
        let shared = self.fields.iter().find(|f| f.name == field.name.node.as_str())?;
        if !(shared.live_only)(&Arguments { field, operation, variables }) {
            return None;
        }
        let admission = (shared.admit)(state, principal).ok()?;
        let key = GroupKey {
            query: query.into(),
            operation_name: operation_name.map(str::to_string),
            variables: serde_json::to_string(variables).ok()?,
            audience: (shared.audience)(principal),
        };
        Some(Admitted { key, admission })
    }

    /// Joins the running group of `admitted.key`, when there is one.
    pub fn join(&self, admitted: Admitted, data: async_graphql::Data) -> Result<Member, (Admitted, async_graphql::Data)> {
        // The lock is let go before the group is: dropping the last handle of a group takes it.
        let running = self.live.lock().unwrap_or_else(|p| p.into_inner()).get(&admitted.key).and_then(Weak::upgrade);
        let rx = running.as_ref().and_then(|group| group.tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|tx| tx.subscribe()));
        match (running, rx) {
            (Some(group), Some(rx)) => Ok(Member { frames: BroadcastStream::new(rx), _group: group, _held: admitted.admission, _data: data }),
            _ => Err((admitted, data)),
        }
    }

    /// Starts the group of `admitted.key` on `answers` (the operation run once, each answer
    /// serialised) and makes the subscriber its first member. The task runs until the answers
    /// end or the last member goes.
    pub fn start(&self, admitted: Admitted, data: async_graphql::Data, answers: BoxStream<'static, Frame>) -> Member {
        let (tx, rx) = broadcast::channel(GROUP_CAPACITY);
        let tx: Sender = Arc::new(Mutex::new(Some(tx)));
        let (run, task) = futures_util::future::abortable({
            let tx = tx.clone();
            async move {
                let mut answers = answers;
                while let Some(frame) = answers.next().await {
                    if let Some(tx) = tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                        let _ = tx.send(frame);
                    }
                }
                // The answers ended: so do the members' streams, and no one joins this group.
                tx.lock().unwrap_or_else(|p| p.into_inner()).take();
            }
        });
        let group = Arc::new(Group { key: admitted.key.clone(), tx, task, live: Arc::downgrade(&self.live), gauge: self.gauge.clone() });
        tokio::spawn(run);
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.insert(admitted.key, Arc::downgrade(&group));
        self.gauge.set(i64::try_from(live.len()).unwrap_or(i64::MAX));
        drop(live);
        Member { frames: BroadcastStream::new(rx), _group: group, _held: admitted.admission, _data: data }
    }
}
