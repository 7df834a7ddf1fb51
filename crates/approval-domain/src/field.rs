//! The error of one input field, named by its path, so whoever wired the state machine (or
//! typed the link) sees exactly what to fix.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("`{0}` is empty")]
    Empty(&'static str),
    #[error("`{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("`{field}` contains the invisible or text-reordering character U+{code_point:04X}")]
    Deceptive {
        field: &'static str,
        code_point: u32,
    },
}
