//! send-email's settings, from its environment (template.yaml sets each one).

use approval_aws::{EmailDelivery, email_channel::EmailVars, settings::ConfigError};
use approval_domain::{Address, LinkMode, address};
use approval_slack::{SlackSettings, SlackVars};
use serde::Deserialize;

/// The variables as they are set.
#[derive(Debug, Clone, Deserialize)]
struct Vars {
    #[serde(rename = "REQUESTS_TABLE")]
    requests_table: String,
    #[serde(flatten)]
    email: EmailVars,
    #[serde(flatten)]
    slack: SlackVars,
    #[serde(rename = "API_URL")]
    api_url: String,
    #[serde(rename = "APPROVERS")]
    approvers: String,
    #[serde(rename = "STATE_MACHINE_ARN")]
    state_machine_arn: String,
    #[serde(rename = "TRUSTED_STATE_MACHINE_ARNS", default)]
    trusted_state_machine_arns: String,
    #[serde(rename = "DEFAULT_EXPIRY_SECONDS", default)]
    default_expiry_seconds: Option<String>,
    #[serde(rename = "RETENTION_DAYS", default)]
    retention_days: Option<String>,
    #[serde(rename = "LINK_MODE", default)]
    link_mode: Option<LinkMode>,
    #[serde(rename = "EVENT_BUS_NAME", default)]
    event_bus_name: String,
    #[serde(rename = "GATE_NAME", default)]
    gate_name: Option<String>,
    #[serde(rename = "SCHEDULE_GROUP", default)]
    schedule_group: String,
    #[serde(rename = "SCHEDULER_ROLE_ARN", default)]
    scheduler_role_arn: String,
    #[serde(rename = "REMINDER_AFTER_SECONDS", default)]
    reminder_after_seconds: Option<String>,
    #[serde(rename = "MIN_REQUIRED_APPROVALS", default)]
    min_required_approvals: Option<String>,
}

/// The settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub requests_table: String,
    /// How approvers' email goes out (`EMAIL_DELIVERY`, `SENDER_ADDRESS`, `TOPIC_ARN`).
    pub email: EmailDelivery,
    /// How approvers are reached in Slack (`SLACK_DELIVERY`, …); `None`: Slack is off.
    pub slack: Option<SlackSettings>,
    /// This stack's API base URL, without a trailing slash; links are `{api_url}/execution?…`.
    pub api_url: String,
    /// The stack's approvers, `Email` first.
    pub approvers: Vec<Address>,
    /// This stack's state machine and the trusted ones.
    pub trusted_state_machines: Vec<String>,
    pub default_expiry_seconds: u64,
    pub retention_seconds: u64,
    pub link_mode: LinkMode,
    /// The EventBridge bus the gate's events go on (`EVENT_BUS_NAME`); `None` (unset or
    /// empty): no events are put.
    pub event_bus: Option<String>,
    /// The `Gate` dimension of the gate's metrics (`GATE_NAME`: the stack's name).
    pub gate_name: String,
    /// Where reminders' and escalations' schedules go (`SCHEDULE_GROUP`,
    /// `SCHEDULER_ROLE_ARN`); `None`: nudges are off, and a payload asking for one is refused.
    pub nudges: Option<NudgeSettings>,
    /// The fewest approvals any request of this stack takes (`MIN_REQUIRED_APPROVALS`, the
    /// template's `MinimumRequiredApprovals`; default 1): also the default `RequiredApprovals`.
    pub min_required_approvals: usize,
    /// The reminder every request gets when its payload names none (`REMINDER_AFTER_SECONDS`;
    /// 0 or unset: none).
    pub reminder_after_seconds: u64,
}

/// The stack's schedule group and the role Scheduler invokes send-email with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NudgeSettings {
    pub schedule_group: String,
    pub scheduler_role_arn: String,
}

pub const DEFAULT_EXPIRY_SECONDS: u64 = 3600;
pub const DEFAULT_RETENTION_DAYS: u64 = 90;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vars = approval_aws::settings::from_vars(vars)?;
        let approvers = address::parse_list(&vars.approvers)
            .map_err(|err| ConfigError::new(format!("APPROVERS: an address {err}")))?;
        if approvers.is_empty() {
            return Err(ConfigError::new("APPROVERS names no approver"));
        }
        let email = vars.email.delivery()?;
        let slack = vars.slack.settings().map_err(ConfigError::new)?;
        if let Some(max) = email.max_approvers()
            && approvers.len() > max
        {
            let way = match email {
                EmailDelivery::Ses { .. } => "SES",
                _ => "SNS (one subscription each: Email and 10 AdditionalApprovers)",
            };
            return Err(ConfigError::new(format!(
                "APPROVERS names {} approvers; with {way} at most {max}",
                approvers.len()
            )));
        }
        let api_url = vars.api_url.trim().trim_end_matches('/').to_owned();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(ConfigError::new(format!(
                "API_URL `{api_url}` is not an http(s) URL"
            )));
        }
        let mut trusted_state_machines = vec![vars.state_machine_arn.trim().to_owned()];
        for arn in vars
            .trusted_state_machine_arns
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            if !arn.starts_with("arn:")
                || !arn.contains(":states:")
                || !arn.contains(":stateMachine:")
            {
                return Err(ConfigError::new(format!(
                    "TRUSTED_STATE_MACHINE_ARNS: `{arn}` is not a state machine ARN"
                )));
            }
            trusted_state_machines.push(arn.to_owned());
        }
        let number = |name: &str, raw: Option<String>, default: u64| -> Result<u64, ConfigError> {
            raw.map_or(Ok(default), |raw| {
                raw.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        ConfigError::new(format!("{name} `{raw}` is not a positive whole number"))
                    })
            })
        };
        let nudges = nudges(&vars.schedule_group, &vars.scheduler_role_arn)?;
        let reminder_after_seconds = match vars.reminder_after_seconds.as_deref().map(str::trim) {
            None | Some("" | "0") => 0,
            Some(raw) => number("REMINDER_AFTER_SECONDS", Some(raw.to_owned()), 0)?,
        };
        if reminder_after_seconds > 0 && nudges.is_none() {
            return Err(ConfigError::new(
                "REMINDER_AFTER_SECONDS is set, but SCHEDULE_GROUP is not: no reminder could be scheduled",
            ));
        }
        let min_required_approvals =
            number("MIN_REQUIRED_APPROVALS", vars.min_required_approvals, 1)? as usize;
        if min_required_approvals > approvers.len() {
            return Err(ConfigError::new(format!(
                "MIN_REQUIRED_APPROVALS is {min_required_approvals}, more than the stack's {} approver(s): no request could be decided",
                approvers.len()
            )));
        }
        Ok(Self {
            min_required_approvals,
            requests_table: vars.requests_table,
            email,
            slack,
            api_url,
            approvers,
            trusted_state_machines,
            default_expiry_seconds: number(
                "DEFAULT_EXPIRY_SECONDS",
                vars.default_expiry_seconds,
                DEFAULT_EXPIRY_SECONDS,
            )?,
            retention_seconds: number(
                "RETENTION_DAYS",
                vars.retention_days,
                DEFAULT_RETENTION_DAYS,
            )? * 86_400,
            link_mode: vars.link_mode.unwrap_or_default(),
            event_bus: event_bus(&vars.event_bus_name)?,
            nudges,
            reminder_after_seconds,
            gate_name: vars
                .gate_name
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| approval_aws::emf::DEFAULT_GATE.to_owned()),
        })
    }
}

/// Both set, or neither (nudges off).
fn nudges(group: &str, role_arn: &str) -> Result<Option<NudgeSettings>, ConfigError> {
    match (group.trim(), role_arn.trim()) {
        ("", "") => Ok(None),
        ("", _) | (_, "") => Err(ConfigError::new(
            "SCHEDULE_GROUP and SCHEDULER_ROLE_ARN are set together or not at all",
        )),
        (_, role) if !role.starts_with("arn:") || !role.contains(":role/") => {
            Err(ConfigError::new(format!(
                "SCHEDULER_ROLE_ARN `{}` is not a role ARN",
                approval_domain::text::quote_up_to(role, 300)
            )))
        }
        (group, role) => Ok(Some(NudgeSettings {
            schedule_group: group.to_owned(),
            scheduler_role_arn: role.to_owned(),
        })),
    }
}

/// The bus's name as EventBridge allows it (a name, not an ARN); empty: none.
fn event_bus(raw: &str) -> Result<Option<String>, ConfigError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
    if name.len() > 256 || !name.chars().all(allowed) {
        return Err(ConfigError::new(format!(
            "EVENT_BUS_NAME `{}` is not an event bus name (letters, digits, `.`, `_`, `-`, `/`; at most 256)",
            approval_domain::text::quote_up_to(name, 300)
        )));
    }
    Ok(Some(name.to_owned()))
}

/// The settings every test of send-email starts from (a stack of three approvers), with
/// `overrides` in place of the variables of those names. Feature `test-util`.
#[cfg(any(test, feature = "test-util"))]
pub fn test_vars(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    use approval_domain::memory::fixtures;
    approval_aws::settings::overridden(
        [
            ("REQUESTS_TABLE", "requests".to_owned()),
            (
                "TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:approvals".to_owned(),
            ),
            ("API_URL", fixtures::API_URL.to_owned()),
            (
                "APPROVERS",
                "approver0@example.com,approver1@example.com,approver2@example.com".to_owned(),
            ),
            ("STATE_MACHINE_ARN", fixtures::state_machine_arn()),
            ("SCHEDULE_GROUP", "gate-nudges".to_owned()),
            (
                "SCHEDULER_ROLE_ARN",
                "arn:aws:iam::123456789012:role/gate-scheduler".to_owned(),
            ),
        ],
        overrides,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use approval_aws::email_channel::{MAX_SES_APPROVERS, MAX_SNS_APPROVERS};
    use approval_domain::memory::fixtures;

    use super::*;

    pub fn vars() -> Vec<(String, String)> {
        test_vars(&[
            ("API_URL", &format!("{}/", fixtures::API_URL)),
            ("TRUSTED_STATE_MACHINE_ARNS", ""),
            ("DEFAULT_EXPIRY_SECONDS", "3600"),
            ("LINK_MODE", "confirm"),
        ])
    }

    pub fn config() -> Config {
        Config::from_vars(vars()).unwrap()
    }

    fn with(name: &str, value: &str) -> Result<Config, String> {
        let mut vars: Vec<_> = vars().into_iter().filter(|(k, _)| k != name).collect();
        vars.push((name.to_owned(), value.to_owned()));
        Config::from_vars(vars).map_err(|err| err.to_string())
    }

    #[test]
    fn reads_every_setting() {
        let config = config();
        assert_eq!(config.api_url, fixtures::API_URL);
        assert_eq!(config.approvers.len(), 3);
        assert_eq!(
            config.trusted_state_machines,
            vec![fixtures::state_machine_arn()]
        );
        assert_eq!(config.retention_seconds, 90 * 86_400);
        assert_eq!(config.link_mode, LinkMode::Confirm);
        assert_eq!(config.event_bus, None, "no bus named: no events");
        assert_eq!(config.gate_name, approval_aws::emf::DEFAULT_GATE);
        let named = Config::from_vars(test_vars(&[
            ("EVENT_BUS_NAME", "default"),
            ("GATE_NAME", "Gate"),
        ]))
        .unwrap();
        assert_eq!(named.event_bus.as_deref(), Some("default"));
        assert_eq!(named.gate_name, "Gate");
    }

    #[test]
    fn each_bad_setting_is_named() {
        for (name, value, says) in [
            ("APPROVERS", "alice", "APPROVERS"),
            ("APPROVERS", " , ", "APPROVERS names no approver"),
            ("API_URL", "ftp://x", "API_URL"),
            (
                "TRUSTED_STATE_MACHINE_ARNS",
                "arn:aws:lambda:x",
                "TRUSTED_STATE_MACHINE_ARNS",
            ),
            ("DEFAULT_EXPIRY_SECONDS", "soon", "DEFAULT_EXPIRY_SECONDS"),
            ("RETENTION_DAYS", "0", "RETENTION_DAYS"),
            ("LINK_MODE", "twice", "LINK_MODE"),
            ("EMAIL_DELIVERY", "smtp", "EMAIL_DELIVERY `smtp`"),
            (
                "EVENT_BUS_NAME",
                "arn:aws:events:us-east-1:1:event-bus/x",
                "EVENT_BUS_NAME `arn:aws",
            ),
            ("SCHEDULE_GROUP", "", "set together"),
            ("SCHEDULER_ROLE_ARN", "gate-scheduler", "not a role ARN"),
            ("REMINDER_AFTER_SECONDS", "soon", "REMINDER_AFTER_SECONDS"),
            ("MIN_REQUIRED_APPROVALS", "0", "MIN_REQUIRED_APPROVALS"),
            (
                "MIN_REQUIRED_APPROVALS",
                "4",
                "MIN_REQUIRED_APPROVALS is 4, more than the stack's 3 approver(s)",
            ),
        ] {
            let err = with(name, value).unwrap_err();
            assert!(err.contains(says), "{name}={value}: {err}");
        }
        let missing = Config::from_vars(vars().into_iter().filter(|(k, _)| k != "REQUESTS_TABLE"))
            .unwrap_err();
        assert!(missing.to_string().contains("REQUESTS_TABLE"), "{missing}");
    }

    #[test]
    fn ses_takes_up_to_50_approvers_and_sns_up_to_11() {
        let list = |n: usize| {
            (0..n)
                .map(|i| format!("a{i}@example.com"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let ses = |n: usize| {
            Config::from_vars(test_vars(&[
                ("EMAIL_DELIVERY", "ses"),
                ("SENDER_ADDRESS", "approvals@example.com"),
                ("TOPIC_ARN", ""),
                ("APPROVERS", &list(n)),
            ]))
        };
        let config = ses(MAX_SES_APPROVERS).unwrap();
        assert_eq!(config.approvers.len(), 50);
        assert_eq!(
            config.email,
            EmailDelivery::Ses {
                sender: Address::parse("approvals@example.com").unwrap()
            }
        );
        let err = ses(MAX_SES_APPROVERS + 1).unwrap_err().to_string();
        assert!(err.contains("51 approvers; with SES at most 50"), "{err}");
        let sns = |n: usize| Config::from_vars(test_vars(&[("APPROVERS", &list(n))]));
        assert_eq!(sns(MAX_SNS_APPROVERS).unwrap().approvers.len(), 11);
        let err = sns(MAX_SNS_APPROVERS + 1).unwrap_err().to_string();
        assert!(err.contains("12 approvers; with SNS"), "{err}");
    }
}
