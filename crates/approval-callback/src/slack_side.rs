//! Slack on approval-callback: whether it is on and usable (its secret read), and the route
//! Slack posts to. What the route does is [`crate::slack`].

/// The route's path, under the API's stage.
pub const INTERACTIONS_PATH: &str = "/slack/interactions";

/// A click is answered within this, whatever the store and Slack do: Slack shows the clicker an
/// error after 3 s, and the click's trigger for the modal expires about then.
pub const CLICK_DEADLINE: std::time::Duration = std::time::Duration::from_millis(2700);

/// Slack on this function: off, ready, or on but not usable (its secret could not be read:
/// every interaction gets 503, the links keep working).
pub enum SlackSide<A> {
    Off,
    Ready(SlackInbound<A>),
    Unusable(String),
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
