//! GraphQL enums mirroring the domain vocabularies.

use async_graphql::Enum;

use crate::domain;

/// Where a conversation happens.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::Channel", name = "Channel")]
pub enum ChannelGql {
    /// WhatsApp (Cloud API or a bot bridge).
    Whatsapp,
    /// A phone call (voice agent or staff).
    Call,
    /// Web chat.
    Web,
    /// Text messages.
    Sms,
    /// Email.
    Email,
}

/// Who said a message.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::MessageRole", name = "MessageRole")]
pub enum MessageRoleGql {
    /// The customer.
    Customer,
    /// The business's agent: an AI agent or a bot.
    Agent,
    /// A staff member writing in the conversation.
    Staff,
    /// An automatic notice (e.g. "call started").
    System,
}

/// Whether a session still takes messages.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::SessionStatus", name = "SessionStatus")]
pub enum SessionStatusGql {
    /// The conversation is going on.
    Open,
    /// The conversation ended; see `closeReason`.
    Closed,
}

/// Why a session was closed.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::CloseReason", name = "CloseReason")]
pub enum CloseReasonGql {
    /// The customer was quiet for longer than the tenant's idle timeout.
    IdleTimeout,
    /// The customer asked to start over.
    Reset,
    /// The call ended.
    CallEnded,
    /// Staff or an integration closed it.
    Manual,
    /// A new call started on the same channel.
    Superseded,
}

/// What a staff user may do.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::StaffRole", name = "Role")]
pub enum RoleGql {
    /// Everything, including settings, users and API keys.
    Admin,
    /// Read, and write messages, notes and profile fields.
    Agent,
    /// Read only.
    Viewer,
}

/// What an API key may do.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::ApiScope", name = "ApiScope")]
pub enum ApiScopeGql {
    /// Record messages and close sessions.
    Ingest,
    /// Read leads, sessions and memory contexts; subscribe to events.
    Read,
    /// Bulk export.
    Export,
}

/// What a note is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::NoteKind", name = "NoteKind")]
pub enum NoteKindGql {
    /// Written by staff.
    Note,
    /// The summary of a phone call.
    CallSummary,
    /// Written by memodesk.
    System,
}

/// How a channel or a contact detail identifies a lead.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::IdentityKind", name = "IdentityKind")]
pub enum IdentityKindGql {
    /// A phone number in E.164 form.
    Phone,
    /// An email address.
    Email,
    /// A WhatsApp user id.
    Whatsapp,
    /// A web-chat visitor id.
    Web,
    /// A caller id that is not a phone number.
    Call,
    /// An SMS sender id that is not a phone number.
    Sms,
    /// An email-channel sender id that is not an address.
    EmailChannel,
}

/// What a message is about, as the built-in classifier sees it.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::classify::Intent", name = "Intent")]
pub enum IntentGql {
    /// Hello.
    Greeting,
    /// A question about a product or service.
    ProductInquiry,
    /// A question about prices.
    Pricing,
    /// A currency conversion request.
    CurrencyConversion,
    /// A request to book.
    Booking,
    /// A request to move a booking.
    Reschedule,
    /// A request for help with a problem.
    SupportRequest,
    /// A complaint.
    Complaint,
    /// Goodbye.
    Goodbye,
    /// None of the above.
    Other,
}

/// Where a profile value came from, strongest first.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::profile::Source", name = "ProfileSource")]
pub enum ProfileSourceGql {
    /// Written by staff; only staff change it.
    Manual,
    /// Imported from a CRM.
    Import,
    /// Told by the channel (e.g. the WhatsApp profile name).
    Channel,
    /// Extracted from conversation.
    Ai,
}

/// What became of a proposal or a staff action on a profile field.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::profile::Outcome", name = "ProfileChangeOutcome")]
pub enum ProfileChangeOutcomeGql {
    /// The value was written.
    Applied,
    /// The proposal repeated the current value.
    Unchanged,
    /// A staff value holds the field; the proposal was not applied.
    KeptManual,
    /// The current value has a stronger source or a higher confidence.
    LowerConfidence,
    /// The current value, as strong, was learned from a later message: an older observation (a
    /// history import, a late delivery, a summary of an earlier conversation) was not applied.
    Outdated,
    /// The value (a phone number or an email address) already identifies another lead: one
    /// contact detail finds one customer, so the proposal was not applied. Staff decide: change
    /// the other lead's value first, then set this one.
    AnotherLead,
    /// Staff rejected the field or item; the proposal was not applied.
    RejectedByStaff,
    /// Staff rejected the field (or an item): it is locked empty.
    StaffRejected,
    /// Staff released the field: proposals may replace it again.
    StaffReleased,
}

/// The order of a lead list.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum LeadOrder {
    /// Most recently active first (default).
    #[default]
    LastActivityDesc,
    /// Newest leads first.
    CreatedAtDesc,
    /// Oldest leads first.
    CreatedAtAsc,
}

impl From<LeadOrder> for crate::repo::leads::LeadOrder {
    fn from(order: LeadOrder) -> Self {
        match order {
            LeadOrder::LastActivityDesc => Self::LastActivityDesc,
            LeadOrder::CreatedAtDesc => Self::CreatedAtDesc,
            LeadOrder::CreatedAtAsc => Self::CreatedAtAsc,
        }
    }
}

/// The order of a message list.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum MessageOrder {
    /// Oldest first, as the conversation was read (default).
    #[default]
    OldestFirst,
    /// Newest first, for chat views that load upwards.
    NewestFirst,
}

/// A kind of personal data redacted at ingest.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::redact::PiiKind", name = "PiiKind")]
pub enum PiiKindGql {
    /// Payment card numbers (Luhn-valid, 13 to 19 digits): `[card ••4242]`.
    Card,
    /// IBANs (mod-97 valid): `[bank account ••1234]`.
    BankAccount,
    /// Israeli identity numbers (valid check digit): `[id number]`.
    IsraeliId,
    /// US Social Security numbers: `[ssn]`.
    UsSsn,
    /// One-time codes after a cue word ("code", "OTP", "קוד"): `[one-time code]`.
    OneTimeCode,
}

/// Whether messages are redacted at ingest.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "domain::redact::RedactionMode", name = "PiiRedaction")]
pub enum PiiRedactionGql {
    /// Messages are stored as written.
    Off,
    /// The chosen kinds are replaced by placeholders before anything is stored.
    Redact,
}
