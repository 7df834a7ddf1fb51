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
    sync::{Mutex, PoisonError},
    task::{Context, Poll},
};

use futures_util::future::LocalBoxFuture;
use lambda_runtime::{
    LambdaInvocation,
    tower::{Layer, Service},
};

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

/// Runs `work()` after each invocation's answer is posted.
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
pub struct AfterAnswer<S, W> {
    inner: S,
    work: W,
}

impl<S, W, Work, E> Service<LambdaInvocation> for AfterAnswer<S, W>
where
    S: Service<LambdaInvocation, Response = (), Error = E>,
    S::Future: 'static,
    W: Fn() -> Work,
    Work: Future<Output = ()> + 'static,
{
    type Response = ();
    type Error = E;
    type Future = LocalBoxFuture<'static, Result<(), E>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let answered = self.inner.call(invocation);
        let work = (self.work)();
        Box::pin(async move {
            let result = answered.await;
            work.await;
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc};

    use lambda_runtime::{
        Context,
        tower::{ServiceExt as _, service_fn},
    };

    use super::*;

    type Log = Rc<RefCell<Vec<&'static str>>>;

    fn invocation() -> LambdaInvocation {
        LambdaInvocation {
            parts: http::Response::new(()).into_parts().0,
            body: Default::default(),
            context: Context::default(),
        }
    }

    /// The runtime's side: "posts" the answer (or fails to) and notes it.
    fn runtime(
        log: Log,
        posted: Result<(), &'static str>,
    ) -> impl Service<LambdaInvocation, Response = (), Error = &'static str, Future: 'static> {
        service_fn(move |_: LambdaInvocation| {
            let log = log.clone();
            async move {
                log.borrow_mut().push("answer posted");
                posted
            }
        })
    }

    fn work_noting(log: Log) -> impl Fn() -> LocalBoxFuture<'static, ()> + Clone {
        move || {
            let log = log.clone();
            Box::pin(async move { log.borrow_mut().push("work done") })
        }
    }

    #[test]
    fn followups_come_out_in_order_once() {
        let followups = Followups::default();
        followups.push(1);
        followups.push(2);
        assert_eq!(followups.take(), [1, 2]);
        assert!(followups.take().is_empty());
    }

    #[tokio::test]
    async fn the_work_runs_once_the_answer_is_posted_each_invocation() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut service =
            AfterAnswerLayer::new(work_noting(log.clone())).layer(runtime(log.clone(), Ok(())));
        for _ in 0..2 {
            service
                .ready()
                .await
                .unwrap()
                .call(invocation())
                .await
                .unwrap();
        }
        assert_eq!(
            *log.borrow(),
            ["answer posted", "work done", "answer posted", "work done"]
        );
    }

    #[tokio::test]
    async fn the_work_runs_even_if_posting_failed_and_the_failure_is_passed_on() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut service = AfterAnswerLayer::new(work_noting(log.clone()))
            .layer(runtime(log.clone(), Err("runtime API gone")));
        let result = service.ready().await.unwrap().call(invocation()).await;
        assert_eq!(result, Err("runtime API gone"));
        assert_eq!(*log.borrow(), ["answer posted", "work done"]);
    }
}
