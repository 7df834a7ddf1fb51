//! Work done after the answer is posted and before the next event is taken.
//!
//! Lambda returns a function's answer to its caller (API Gateway and the approver's browser, or
//! Step Functions) as soon as the runtime posts it, and keeps the environment running until the
//! runtime asks for the next event; the invocation's timeout covers both. So what the caller need
//! not wait for (the callback's delivered mark and decided emails, send-email's record of who was
//! emailed) runs in between: [`AfterAnswerLayer`] wraps the runtime's whole invocation, answer
//! posting included, and awaits the work after it; [`Followups`] is where a handler leaves it.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::{Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use futures_util::{FutureExt as _, future::LocalBoxFuture};
use lambda_runtime::{
    Error, LambdaInvocation, Runtime,
    layers::TracingLayer,
    tower::{Layer, Service},
};
use tracing::{error, warn};

/// Kept back from the invocation's deadline: the work gives up before Lambda ends the invocation.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(200);

/// What answers leave to do after them, in the order they left it.
#[derive(Debug)]
pub struct Followups<T>(Mutex<Vec<T>>);

impl<T> Default for Followups<T> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<T> Followups<T> {
    pub fn push(&self, work: T) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(work);
    }

    /// Everything left so far, in the order it was left; none is left after.
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// `lambda_runtime::run` with `work()` after each posted answer ([`AfterAnswerLayer`]), inside
/// the invocation's tracing span as `run` has it.
pub async fn run<S, W, Work>(runtime: Runtime<S>, work: W) -> Result<(), Error>
where
    S: Service<LambdaInvocation, Response = (), Error = Error>,
    S::Future: 'static,
    W: Fn() -> Work + Clone + 'static,
    Work: Future<Output = ()> + 'static,
{
    runtime
        .layer(AfterAnswerLayer::new(work))
        .layer(TracingLayer::new())
        .run()
        .await
}

/// Runs `work()` after each invocation's answer is posted: made then, not before, and given
/// until the invocation's deadline (less [`DEADLINE_MARGIN`]); a panic in it is logged. One
/// invocation at a time (`Runtime::run`, not `run_concurrent`: the future is not `Send`).
#[derive(Clone)]
pub struct AfterAnswerLayer<W> {
    work: W,
}

impl<W> AfterAnswerLayer<W> {
    pub fn new(work: W) -> Self {
        Self { work }
    }
}

impl<S, W: Clone> Layer<S> for AfterAnswerLayer<W> {
    type Service = AfterAnswer<S, W>;

    fn layer(&self, inner: S) -> Self::Service {
        AfterAnswer {
            inner,
            work: self.work.clone(),
        }
    }
}

/// The runtime's invocation service (it posts the answer), then the work.
#[derive(Clone)]
pub struct AfterAnswer<S, W> {
    inner: S,
    work: W,
}

impl<S, W, Work, E> Service<LambdaInvocation> for AfterAnswer<S, W>
where
    S: Service<LambdaInvocation, Response = (), Error = E>,
    S::Future: 'static,
    W: Fn() -> Work + Clone + 'static,
    Work: Future<Output = ()> + 'static,
{
    type Response = ();
    type Error = E;
    type Future = LocalBoxFuture<'static, Result<(), E>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let deadline = usable(invocation.context.deadline(), SystemTime::now());
        let answered = self.inner.call(invocation);
        let work = self.work.clone();
        Box::pin(async move {
            let result = answered.await;
            let working = AssertUnwindSafe(async move { work().await }).catch_unwind();
            let finished = match deadline {
                Some(deadline) => {
                    tokio::time::timeout(time_left(deadline, SystemTime::now()), working).await
                }
                None => Ok(working.await),
            };
            match finished {
                Ok(Ok(())) => {}
                Ok(Err(_panic)) => error!("the work after the answer panicked"),
                Err(_elapsed) => {
                    warn!("the work after the answer ran out of the invocation's time")
                }
            }
            result
        })
    }
}

/// The invocation's deadline, if it is one: none when it has already passed as the invocation
/// begins, which Lambda never hands out (no deadline given reads as the epoch, and `cargo lambda
/// watch` sends its 600,000 ms timeout in that header).
fn usable(deadline: SystemTime, invoked_at: SystemTime) -> Option<SystemTime> {
    (deadline > invoked_at).then_some(deadline)
}

/// How long the work may take: until `deadline` less [`DEADLINE_MARGIN`], nothing once that has
/// passed.
fn time_left(deadline: SystemTime, now: SystemTime) -> Duration {
    deadline
        .duration_since(now)
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN)
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc, time::UNIX_EPOCH};

    use lambda_runtime::{
        Context,
        tower::{ServiceExt as _, service_fn},
    };

    use super::*;

    type Log = Rc<RefCell<Vec<&'static str>>>;

    fn invocation(deadline_ms: u64) -> LambdaInvocation {
        let mut context = Context::default();
        context.deadline = deadline_ms;
        LambdaInvocation {
            parts: http::Response::new(()).into_parts().0,
            body: Default::default(),
            context,
        }
    }

    fn in_a_minute() -> u64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        (now + Duration::from_secs(60)).as_millis() as u64
    }

    /// The runtime's side: posts the answer (or fails to) after a yield, as a real post would.
    fn runtime(
        log: Log,
        posted: Result<(), &'static str>,
    ) -> impl Service<LambdaInvocation, Response = (), Error = &'static str, Future: 'static> {
        service_fn(move |_: LambdaInvocation| {
            let log = log.clone();
            async move {
                tokio::task::yield_now().await;
                log.borrow_mut().push("answer posted");
                posted
            }
        })
    }

    /// Notes when it is made and when it is done, `takes` apart.
    fn work_noting(
        log: Log,
        takes: Duration,
    ) -> impl Fn() -> LocalBoxFuture<'static, ()> + Clone + 'static {
        move || {
            log.borrow_mut().push("work made");
            let log = log.clone();
            Box::pin(async move {
                tokio::time::sleep(takes).await;
                log.borrow_mut().push("work done");
            })
        }
    }

    /// One invocation through `service`, as the runtime makes it.
    async fn invoke<S>(service: &mut S, deadline_ms: u64) -> Result<(), &'static str>
    where
        S: Service<LambdaInvocation, Response = (), Error = &'static str>,
    {
        service.ready().await?.call(invocation(deadline_ms)).await
    }

    #[test]
    fn followups_come_out_in_order_once() {
        let followups = Followups::default();
        followups.push(1);
        followups.push(2);
        assert_eq!(followups.take(), [1, 2]);
        assert!(followups.take().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_work_is_made_and_done_once_the_answer_is_posted_each_invocation() {
        let log = Log::default();
        let mut service = AfterAnswerLayer::new(work_noting(log.clone(), Duration::from_secs(1)))
            .layer(runtime(log.clone(), Ok(())));
        for _ in 0..2 {
            let before = log.borrow().len();
            let call = service
                .ready()
                .await
                .unwrap()
                .call(invocation(in_a_minute()));
            assert_eq!(
                log.borrow().len(),
                before,
                "nothing made before the call runs"
            );
            call.await.unwrap();
        }
        assert_eq!(
            *log.borrow(),
            [
                "answer posted",
                "work made",
                "work done",
                "answer posted",
                "work made",
                "work done"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_work_runs_even_if_posting_failed_and_the_failure_is_passed_on() {
        let log = Log::default();
        let mut service = AfterAnswerLayer::new(work_noting(log.clone(), Duration::ZERO))
            .layer(runtime(log.clone(), Err("runtime API gone")));
        let result = invoke(&mut service, in_a_minute()).await;
        assert_eq!(result, Err("runtime API gone"));
        assert_eq!(*log.borrow(), ["answer posted", "work made", "work done"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_work_gives_up_before_the_deadline_and_without_one_it_is_not_cut() {
        let log = Log::default();
        let mut service = AfterAnswerLayer::new(work_noting(log.clone(), Duration::from_secs(30)))
            .layer(runtime(log.clone(), Ok(())));
        let started = tokio::time::Instant::now();
        let soon = in_a_minute() - 59_000; // one second away
        invoke(&mut service, soon).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(*log.borrow(), ["answer posted", "work made"]);

        for no_deadline in [0, 600_000] {
            log.borrow_mut().clear();
            invoke(&mut service, no_deadline).await.unwrap();
            assert_eq!(
                *log.borrow(),
                ["answer posted", "work made", "work done"],
                "deadline {no_deadline}: no limit"
            );
        }
    }

    #[tokio::test]
    async fn a_panicking_work_is_logged_and_the_answer_stands() {
        let log = Log::default();
        let mut service = AfterAnswerLayer::new(|| async { panic!("a bug after the answer") })
            .layer(runtime(log.clone(), Ok(())));
        let (_guard, logged) = crate::logging::capture(crate::logging::filter(None));
        let result = invoke(&mut service, in_a_minute()).await;
        assert_eq!(result, Ok(()));
        assert_eq!(*log.borrow(), ["answer posted"]);
        let logged = logged();
        assert!(
            logged.contains("ERROR") && logged.contains("the work after the answer panicked"),
            "{logged}"
        );
    }

    #[test]
    fn a_deadline_is_one_only_ahead_of_the_invocation_and_leaves_the_margin() {
        let at = |ms| UNIX_EPOCH + Duration::from_millis(ms);
        let now = at(1_000_000);
        assert_eq!(usable(at(0), now), None, "none given");
        assert_eq!(
            usable(at(600_000), now),
            None,
            "cargo lambda watch's timeout"
        );
        assert_eq!(usable(now, now), None);
        let ahead = usable(at(1_010_000), now).unwrap();
        assert_eq!(time_left(ahead, now), Duration::from_millis(9_800));
        assert_eq!(time_left(ahead, at(1_009_900)), Duration::ZERO);
        assert_eq!(time_left(ahead, at(1_011_000)), Duration::ZERO);
    }
}
