//! In-memory ports and the shared fixtures of every crate's tests (feature `test-util`).
//!
//! Each fake records what it was asked and can be told to fail, so a test asserts both the
//! answer and what was (not) written, sent or completed.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Duration,
};

use crate::{
    ApprovalRequest, ExecutionArn, GateEvent, Measure, RequestId, TaskToken, Timestamp,
    ports::{
        Created, EventBus, Message, Meter, Notifier, PortError, Replaced, RequestStore, Scheduler,
        SendError, Tasks,
    },
    scheduled::ExecutionView,
};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Which store operation a scripted failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    Create,
    Get,
    OfExecution,
    Replace,
}

#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<RequestId, ApprovalRequest>>,
    failures: Mutex<HashMap<StoreOp, VecDeque<PortError>>>,
    /// Replaces that lose a race on purpose (as if another writer came first).
    conflicts: Mutex<usize>,
    pub calls: Mutex<Vec<StoreOp>>,
}

impl MemoryStore {
    pub fn with(records: impl IntoIterator<Item = ApprovalRequest>) -> Self {
        let store = Self::default();
        lock(&store.records).extend(records.into_iter().map(|r| (r.request_id.clone(), r)));
        store
    }

    /// Stores `record` as it is, over whatever was there (another writer's change).
    pub fn put(&self, record: ApprovalRequest) {
        lock(&self.records).insert(record.request_id.clone(), record);
    }

    pub fn record(&self, id: &RequestId) -> Option<ApprovalRequest> {
        lock(&self.records).get(id).cloned()
    }

    pub fn records(&self) -> Vec<ApprovalRequest> {
        lock(&self.records).values().cloned().collect()
    }

    pub fn fail_next(&self, op: StoreOp, error: PortError) {
        lock(&self.failures).entry(op).or_default().push_back(error);
    }

    pub fn conflict_next(&self, times: usize) {
        *lock(&self.conflicts) += times;
    }

    pub fn count(&self, op: StoreOp) -> usize {
        lock(&self.calls).iter().filter(|c| **c == op).count()
    }

    fn begin(&self, op: StoreOp) -> Result<(), PortError> {
        lock(&self.calls).push(op);
        match lock(&self.failures)
            .get_mut(&op)
            .and_then(VecDeque::pop_front)
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl RequestStore for MemoryStore {
    async fn create(&self, request: &ApprovalRequest) -> Result<Created, PortError> {
        self.begin(StoreOp::Create)?;
        let mut records = lock(&self.records);
        if let Some(existing) = records.get(&request.request_id) {
            return Ok(Created::Exists(Box::new(existing.clone())));
        }
        records.insert(request.request_id.clone(), request.clone());
        Ok(Created::New)
    }

    async fn of_execution(&self, execution: &ExecutionArn) -> Result<Vec<RequestId>, PortError> {
        self.begin(StoreOp::OfExecution)?;
        let mut ids: Vec<RequestId> = lock(&self.records)
            .values()
            .filter(|r| &r.execution_arn == execution)
            .map(|r| r.request_id.clone())
            .collect();
        ids.sort_by_key(ToString::to_string);
        Ok(ids)
    }

    async fn get(&self, id: &RequestId) -> Result<Option<ApprovalRequest>, PortError> {
        self.begin(StoreOp::Get)?;
        Ok(lock(&self.records).get(id).cloned())
    }

    async fn replace(&self, request: &ApprovalRequest) -> Result<Replaced, PortError> {
        self.begin(StoreOp::Replace)?;
        {
            let mut conflicts = lock(&self.conflicts);
            if *conflicts > 0 {
                *conflicts -= 1;
                return Ok(Replaced::Conflict);
            }
        }
        let mut records = lock(&self.records);
        match records.get(&request.request_id) {
            Some(stored) if stored.version + 1 == request.version => {
                records.insert(request.request_id.clone(), request.clone());
                Ok(Replaced::Written)
            }
            _ => Ok(Replaced::Conflict),
        }
    }
}

#[derive(Default)]
pub struct MemoryNotifier {
    pub sent: Mutex<Vec<Message>>,
    failures: Mutex<VecDeque<PortError>>,
}

impl MemoryNotifier {
    pub fn fail_next(&self, error: PortError) {
        lock(&self.failures).push_back(error);
    }

    pub fn messages(&self) -> Vec<Message> {
        lock(&self.sent).clone()
    }
}

impl Notifier for MemoryNotifier {
    async fn send(&self, message: &Message) -> Result<(), PortError> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Err(error);
        }
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}

/// Keeps the events put; fails the next puts when told to.
#[derive(Default)]
pub struct MemoryEventBus {
    pub put: Mutex<Vec<GateEvent>>,
    failures: Mutex<VecDeque<PortError>>,
}

impl MemoryEventBus {
    pub fn fail_next(&self, error: PortError) {
        lock(&self.failures).push_back(error);
    }

    pub fn events(&self) -> Vec<GateEvent> {
        lock(&self.put).clone()
    }
}

impl EventBus for MemoryEventBus {
    async fn put(&self, events: &[GateEvent]) -> Result<(), PortError> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Err(error);
        }
        lock(&self.put).extend_from_slice(events);
        Ok(())
    }
}

/// Keeps the schedules by name; fails the next calls when told to.
#[derive(Default)]
pub struct MemoryScheduler {
    pub schedules: Mutex<std::collections::BTreeMap<String, (Timestamp, serde_json::Value)>>,
    /// Every name deleted, in order.
    pub deleted: Mutex<Vec<String>>,
    failures: Mutex<VecDeque<PortError>>,
}

impl MemoryScheduler {
    pub fn fail_next(&self, error: PortError) {
        lock(&self.failures).push_back(error);
    }

    pub fn names(&self) -> Vec<String> {
        lock(&self.schedules).keys().cloned().collect()
    }
}

impl Scheduler for MemoryScheduler {
    async fn schedule(
        &self,
        name: &str,
        at: Timestamp,
        input: &serde_json::Value,
    ) -> Result<(), PortError> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Err(error);
        }
        lock(&self.schedules)
            .entry(name.to_owned())
            .or_insert_with(|| (at, input.clone()));
        Ok(())
    }

    async fn unschedule(&self, name: &str) -> Result<(), PortError> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Err(error);
        }
        lock(&self.schedules).remove(name);
        lock(&self.deleted).push(name.to_owned());
        Ok(())
    }
}

/// Keeps what was counted.
#[derive(Default)]
pub struct MemoryMeter {
    pub counted: Mutex<Vec<Measure>>,
}

impl MemoryMeter {
    pub fn measures(&self) -> Vec<Measure> {
        lock(&self.counted).clone()
    }
}

impl Meter for MemoryMeter {
    fn count(&self, measure: Measure) {
        lock(&self.counted).push(measure);
    }
}

#[derive(Default)]
pub struct MemoryTasks {
    executions: Mutex<HashMap<String, ExecutionView>>,
    /// Every `send_success` call: (token, output), failed ones included.
    pub calls: Mutex<Vec<(String, String)>>,
    send_results: Mutex<VecDeque<SendError>>,
    execution_failures: Mutex<VecDeque<PortError>>,
}

impl MemoryTasks {
    pub fn with_execution(arn: &str, view: ExecutionView) -> Self {
        let tasks = Self::default();
        lock(&tasks.executions).insert(arn.to_owned(), view);
        tasks
    }

    pub fn fail_next_send(&self, error: SendError) {
        lock(&self.send_results).push_back(error);
    }

    pub fn fail_next_execution(&self, error: PortError) {
        lock(&self.execution_failures).push_back(error);
    }

    pub fn sends(&self) -> Vec<(String, String)> {
        lock(&self.calls).clone()
    }
}

impl Tasks for MemoryTasks {
    async fn execution(
        &self,
        execution: &ExecutionArn,
    ) -> Result<Option<ExecutionView>, PortError> {
        if let Some(error) = lock(&self.execution_failures).pop_front() {
            return Err(error);
        }
        Ok(lock(&self.executions).get(execution.as_str()).cloned())
    }

    async fn send_success(&self, token: &TaskToken, output: &str) -> Result<(), SendError> {
        lock(&self.calls).push((token.expose().to_owned(), output.to_owned()));
        match lock(&self.send_results).pop_front() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// A port that answers `delay` late (on tokio's clock: paused in tests, it costs no time).
pub struct Slow<P> {
    pub port: P,
    pub delay: Duration,
}

impl<S: RequestStore + Sync> RequestStore for Slow<S> {
    async fn create(&self, request: &ApprovalRequest) -> Result<Created, PortError> {
        tokio::time::sleep(self.delay).await;
        self.port.create(request).await
    }
    async fn of_execution(&self, execution: &ExecutionArn) -> Result<Vec<RequestId>, PortError> {
        tokio::time::sleep(self.delay).await;
        self.port.of_execution(execution).await
    }
    async fn get(&self, id: &RequestId) -> Result<Option<ApprovalRequest>, PortError> {
        tokio::time::sleep(self.delay).await;
        self.port.get(id).await
    }
    async fn replace(&self, request: &ApprovalRequest) -> Result<Replaced, PortError> {
        tokio::time::sleep(self.delay).await;
        self.port.replace(request).await
    }
}

impl<N: Notifier + Sync> Notifier for Slow<N> {
    async fn send(&self, message: &Message) -> Result<(), PortError> {
        tokio::time::sleep(self.delay).await;
        self.port.send(message).await
    }
}

impl<T: Tasks + Sync> Tasks for Slow<T> {
    async fn execution(&self, arn: &ExecutionArn) -> Result<Option<ExecutionView>, PortError> {
        tokio::time::sleep(self.delay).await;
        self.port.execution(arn).await
    }
    async fn send_success(&self, token: &TaskToken, output: &str) -> Result<(), SendError> {
        tokio::time::sleep(self.delay).await;
        self.port.send_success(token, output).await
    }
}

/// Values the tests of every crate share.
pub mod fixtures;
pub mod slack;

pub use slack::{MemorySlack, SlackCall};
