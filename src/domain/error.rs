//! The one error pure rules return: a piece of input that does not fit, and why.

/// Input that failed validation. `field` names the offending input (as the client spelt it,
/// e.g. `phone` or `input.content`) so the API can point at it.
///
/// Deliberately not `Display`: the API layer must turn it into an error with a code and the
/// field name, not a bare message (see `error::AppError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub field: String,
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same problem, reported against another field name (e.g. `value` → `input.value`).
    pub fn for_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}
