//! The product's closed vocabularies: channels, roles, statuses, reasons, kinds.
//!
//! Each is stored and sent as a lowercase snake_case string; `parse` is the only way back in.

/// Declares a closed vocabulary stored as snake_case text.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored, wire and log spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Reads the stored spelling back (exact match).
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::vocabulary::UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text).ok_or_else(|| $crate::domain::vocabulary::UnknownValue {
                    kind: stringify!($name),
                    value: text.chars().take(40).collect(),
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use vocabulary;

/// A stored or received spelling that is not part of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

vocabulary! {
    /// Where a conversation happens.
    Channel {
        Whatsapp => "whatsapp",
        Call => "call",
        Web => "web",
        Sms => "sms",
        Email => "email",
    }
}

vocabulary! {
    /// Who said a message.
    MessageRole {
        Customer => "customer",
        Agent => "agent",
        Staff => "staff",
        System => "system",
    }
}

vocabulary! {
    /// Whether a session still takes messages.
    SessionStatus {
        Open => "open",
        Closed => "closed",
    }
}

vocabulary! {
    /// Why a session was closed.
    CloseReason {
        /// The customer was quiet for longer than the tenant's idle timeout.
        IdleTimeout => "idle_timeout",
        /// The customer asked to start over.
        Reset => "reset",
        /// The call ended (status callback or the voice platform said so).
        CallEnded => "call_ended",
        /// Staff or an integration closed it.
        Manual => "manual",
        /// A new call (another session reference) started on the same channel.
        Superseded => "superseded",
    }
}

vocabulary! {
    /// What a staff user may do.
    StaffRole {
        Admin => "admin",
        Agent => "agent",
        Viewer => "viewer",
    }
}

vocabulary! {
    /// What an API key may do.
    ApiScope {
        /// Write messages (recordMessage, transcripts) and close sessions.
        Ingest => "ingest",
        /// Read leads, sessions and memory contexts; subscribe to events.
        Read => "read",
        /// Bulk export.
        Export => "export",
    }
}

vocabulary! {
    /// What a note is.
    NoteKind {
        Note => "note",
        CallSummary => "call_summary",
        System => "system",
    }
}

vocabulary! {
    /// How a channel (or a contact detail) identifies a lead.
    IdentityKind {
        /// An E.164 phone number; shared by WhatsApp, calls and SMS.
        Phone => "phone",
        /// A normalized email address.
        Email => "email",
        /// A WhatsApp user id (wa_id or business-scoped user id).
        Whatsapp => "whatsapp",
        /// A web-chat visitor id.
        Web => "web",
        /// A caller id that is not a phone number.
        Call => "call",
        /// An SMS sender id that is not a phone number.
        Sms => "sms",
        /// An email-channel sender id that is not an address.
        EmailChannel => "email_channel",
    }
}

impl IdentityKind {
    /// The identity kind a channel's own user id is stored under.
    pub const fn for_channel(channel: Channel) -> Self {
        match channel {
            Channel::Whatsapp => IdentityKind::Whatsapp,
            Channel::Call => IdentityKind::Call,
            Channel::Web => IdentityKind::Web,
            Channel::Sms => IdentityKind::Sms,
            Channel::Email => IdentityKind::EmailChannel,
        }
    }
}

vocabulary! {
    /// What an outbox event reports.
    EventType {
        MessageCreated => "message.created",
        MessageUpdated => "message.updated",
        SessionOpened => "session.opened",
        SessionClosed => "session.closed",
        SummaryCreated => "summary.created",
        LeadCreated => "lead.created",
        LeadUpdated => "lead.updated",
        NoteCreated => "note.created",
        NoteUpdated => "note.updated",
        NoteDeleted => "note.deleted",
        /// A lead and everything about them was erased; carries ids only.
        LeadErased => "lead.erased",
        /// An API key was revoked, or a staff user deactivated or given another role: that
        /// credential's live streams end at once, on every replica. Internal: never shown to
        /// subscribers or sent to integrations.
        CredentialChanged => "credential.changed",
    }
}

impl EventType {
    /// Whether the event is memodesk's own bookkeeping rather than something that happened to
    /// a customer (subscribers and integrations never see it).
    pub const fn is_internal(self) -> bool {
        matches!(self, EventType::CredentialChanged)
    }
}

vocabulary! {
    /// Locales the product renders text in.
    Locale {
        En => "en",
        He => "he",
    }
}

impl Locale {
    /// Best match for a tag such as `he-IL` or `en_US`; `None` when unsupported.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "he" | "iw" => Some(Locale::He),
            _ => None,
        }
    }

    /// Whether the script runs right to left.
    pub const fn is_rtl(self) -> bool {
        matches!(self, Locale::He)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        for r in CloseReason::ALL {
            assert_eq!(r.as_str().parse::<CloseReason>().unwrap(), *r);
        }
        assert!("fax".parse::<Channel>().is_err());
    }

    #[test]
    fn locale_tags() {
        assert_eq!(Locale::from_tag("he-IL"), Some(Locale::He));
        assert_eq!(Locale::from_tag("EN_us"), Some(Locale::En));
        assert_eq!(Locale::from_tag("fr"), None);
    }
}
