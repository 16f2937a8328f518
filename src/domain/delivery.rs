//! Delivery receipts of outbound messages: the states a channel reports, and their order.

/// What a channel reports about an outbound message, in the order it normally happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    /// Reads a provider's spelling (`sent`, `DELIVERED`, …); others are not delivery states.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "sent" => Some(Self::Sent),
            "delivered" => Some(Self::Delivered),
            "read" => Some(Self::Read),
            "failed" | "undelivered" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The stored spelling (`Message.deliveryStatus`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    /// How far along the message is. Providers deliver callbacks out of order (a `read` can
    /// overtake its `delivered`), so a status only ever moves forward; `failed` ends a message
    /// that was sent but never arrived, and says nothing once it was delivered.
    const fn rank(self) -> u8 {
        match self {
            Self::Sent => 1,
            Self::Delivered | Self::Failed => 2,
            Self::Read => 3,
        }
    }

    /// Whether this status replaces `current` (none, or a stored spelling).
    pub fn advances(self, current: Option<&str>) -> bool {
        match current.and_then(Self::parse) {
            None => true,
            Some(current) => self.rank() > current.rank(),
        }
    }

    /// The stored spellings this status may replace.
    pub fn replaceable(self) -> Vec<&'static str> {
        [Self::Sent, Self::Delivered, Self::Read, Self::Failed]
            .into_iter()
            .filter(|s| s.rank() < self.rank())
            .map(Self::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_status_only_moves_forward() {
        use DeliveryStatus::*;
        assert!(Sent.advances(None));
        assert!(Delivered.advances(Some("sent")));
        assert!(Read.advances(Some("delivered")));
        assert!(!Delivered.advances(Some("read")), "a late delivered");
        assert!(!Sent.advances(Some("sent")), "a repeat changes nothing");
        assert!(Failed.advances(Some("sent")));
        assert!(!Failed.advances(Some("delivered")));
        assert!(Read.advances(Some("something-else")));
        assert_eq!(Read.replaceable(), vec!["sent", "delivered", "failed"]);
        assert_eq!(Sent.replaceable(), Vec::<&str>::new());
        assert_eq!(DeliveryStatus::parse("READ"), Some(Read));
        assert_eq!(DeliveryStatus::parse("deleted"), None);
    }
}
