//! The approval gate's Slack adapter, one module per part of Slack's wire:
//!
//! - outbound (send-email, and approval-callback's answers to a click): [`web_api`] calls
//!   Slack's Web API with the bot token, retrying what Slack says is worth retrying within a
//!   budget; [`client::SlackClient`] implements the domain's Slack ports on it; [`blocks`]
//!   renders a request's message and its vote modal in Block Kit;
//! - inbound (approval-callback's `POST /slack/interactions`): [`signature`] verifies Slack's
//!   request signature on the raw body before anything is parsed; [`interaction`] reads the
//!   verified payload into what the gate acts on;
//! - [`secret`]: the app's bot token and signing secret, as Secrets Manager keeps them.
//!
//! No credential, task token or link ever goes to Slack: a button's value names the request and
//! the action, and who votes is the user Slack signed the click for.

pub mod blocks;
pub mod client;
pub mod interaction;
pub mod secret;
pub mod settings;
pub mod signature;
pub mod web_api;

pub use approval_domain::SlackUser;
pub use client::SlackClient;

/// The client of Slack's Web API at `settings.api_url` with the bot token of `secret_string`
/// (the Secrets Manager secret's value), and the secret itself (its signing secret verifies
/// what Slack sends). The error names what is wrong, never a secret.
pub fn connect(
    secret_string: &str,
    settings: &SlackSettings,
    timeouts: WebApiTimeouts,
) -> Result<(SlackClient, SlackSecret), String> {
    let secret = SlackSecret::parse(secret_string)
        .map_err(|err| format!("{err} (the secret {})", settings.secret_arn))?;
    let api = WebApi::new(&settings.api_url, &secret.bot_token, timeouts)?;
    Ok((SlackClient::new(api), secret))
}
pub use interaction::{Interaction, InteractionError};
pub use secret::SlackSecret;
pub use settings::{SlackDelivery, SlackSettings, SlackVars};
pub use signature::{SignatureError, verify};
pub use web_api::{SlackError, WebApi, WebApiTimeouts};
