//! Slack on approval-callback: whether it is on and usable (its secret read), and the route
//! Slack posts to. What the route does is [`crate::slack`].

use futures_util::future::BoxFuture;
use tokio::sync::OnceCell;

/// The route's path, under the API's stage.
pub const INTERACTIONS_PATH: &str = "/slack/interactions";

/// A click is answered within this, whatever the store and Slack do: Slack shows the clicker an
/// error after 3 s, and the click's trigger for the modal expires about then.
pub const CLICK_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2700);

/// Slack on this function: off, ready, on but not usable (its secret could not be read:
/// every interaction gets 503, the links keep working), or on and set up by the first
/// interaction.
pub enum SlackSide<A> {
    Off,
    Ready(SlackInbound<A>),
    Unusable(String),
    OnFirstUse(OnFirstUse<A>),
}

/// Why Slack could not be set up: for now (tried again by the next interaction), or for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    Unavailable(String),
    Unusable(String),
}

/// How Slack is set up (the deployed function: read the app's secret, build the client).
pub type Setup<A> =
    Box<dyn Fn() -> BoxFuture<'static, Result<SlackInbound<A>, SetupError>> + Send + Sync>;

/// Slack set up by the first interaction that needs it, once: a link's cold start never waits
/// for Secrets Manager. A setup that failed for now is tried again by the next interaction; one
/// that failed for good is remembered.
pub struct OnFirstUse<A> {
    setup: Setup<A>,
    done: OnceCell<Result<SlackInbound<A>, String>>,
}

impl<A> OnFirstUse<A> {
    pub fn new(setup: Setup<A>) -> Self {
        Self {
            setup,
            done: OnceCell::new(),
        }
    }

    /// Slack, set up; or why not.
    pub async fn get(&self) -> Result<&SlackInbound<A>, String> {
        let done = self
            .done
            .get_or_try_init(|| async {
                match (self.setup)().await {
                    Ok(inbound) => Ok(Ok(inbound)),
                    Err(SetupError::Unusable(why)) => Ok(Err(why)),
                    Err(SetupError::Unavailable(why)) => Err(why),
                }
            })
            .await?;
        done.as_ref().map_err(Clone::clone)
    }
}

/// What answering Slack takes: its Web API (the modal, private messages) and the signing
/// secret every request from Slack is signed with.
pub struct SlackInbound<A> {
    pub answers: A,
    pub signing_secret: Vec<u8>,
}

/// Whether `path` is the interactions route (with or without the stage in front).
pub fn is_interactions_path(path: &str) -> bool {
    path.trim_end_matches('/').ends_with(INTERACTIONS_PATH)
}
