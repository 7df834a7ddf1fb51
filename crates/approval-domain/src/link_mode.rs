//! What opening a link does (the template's `LinkMode`).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkMode {
    /// A GET shows the request and a form; only the form's POST votes. Mail scanners that open
    /// every link cannot vote.
    #[default]
    Confirm,
    /// A GET votes at once, as the seed tutorial's links did.
    OneClick,
}

impl LinkMode {
    /// One sentence for the email: what opening a link does.
    pub fn explain(self) -> &'static str {
        match self {
            LinkMode::Confirm => {
                "Each link opens a page that shows the request; your vote counts only when you press its button there (you may add a comment)."
            }
            LinkMode::OneClick => {
                "Opening a link casts that vote at once: open only the one you mean."
            }
        }
    }
}
