//! Relay-style keyset pagination: validated `first/after/last/before`, opaque cursors.
//!
//! A cursor is the sort key of a row (a timestamp and the row id), base64url-encoded. Pages are
//! fetched with `WHERE (key, id) < (cursor)` and one extra row to know whether more exist, so
//! page N costs the same as page 1.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::InvalidInput;

/// Rows per page when the client asks for neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// The position of a row in a keyset order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// The cursor text: the time to the nanosecond (what a row holds on SQLite; PostgreSQL
    /// keeps microseconds) and the id that breaks ties, so the next page starts exactly after
    /// this row, whatever other rows share its time.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "v2|{}|{}|{}",
            self.at.timestamp(),
            self.at.timestamp_subsec_nanos(),
            self.id.simple()
        ))
    }

    /// Reads a cursor this API returned (`v1` cursors, in microseconds, are still read).
    pub fn decode(text: &str, field: &str) -> Result<Self, InvalidInput> {
        let invalid = || InvalidInput::new(field, "not a cursor returned by this API");
        let raw = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let parts: Vec<&str> = raw.split('|').collect();
        let number = |text: &str| text.parse::<i64>().map_err(|_| invalid());
        let (at, id) = match parts.as_slice() {
            ["v2", secs, nanos, id] => {
                let nanos = u32::try_from(number(nanos)?).map_err(|_| invalid())?;
                (DateTime::from_timestamp(number(secs)?, nanos), id)
            }
            ["v1", micros, id] => (DateTime::from_timestamp_micros(number(micros)?), id),
            _ => return Err(invalid()),
        };
        Ok(Self {
            at: at.ok_or_else(invalid)?,
            id: Uuid::parse_str(id).map_err(|_| invalid())?,
        })
    }
}

/// Which way a page walks the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `first`/`after`: from the start of the order.
    Forward,
    /// `last`/`before`: from the end of the order, returned in order.
    Backward,
}

/// Validated paging arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub direction: Direction,
    /// Rows strictly after (forward) or before (backward) this position.
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// Checks Relay arguments: `first` with `after`, or `last` with `before`; sizes within
    /// `0..=max`.
    pub fn parse(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
        max: usize,
    ) -> Result<Self, InvalidInput> {
        let size = |value: i32, field: &str| -> Result<usize, InvalidInput> {
            usize::try_from(value)
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(|| {
                    InvalidInput::new(field, format!("must be between 0 and {max}, got {value}"))
                })
        };
        if first.is_some() && last.is_some() {
            return Err(InvalidInput::new(
                "last",
                "pass either first (with after) or last (with before), not both",
            ));
        }
        if after.is_some() && before.is_some() {
            return Err(InvalidInput::new(
                "before",
                "pass either after or before, not both",
            ));
        }
        if let Some(last) = last {
            if after.is_some() {
                return Err(InvalidInput::new("after", "use before with last"));
            }
            return Ok(Self {
                limit: size(last, "last")?,
                direction: Direction::Backward,
                cursor: before.map(|c| Cursor::decode(c, "before")).transpose()?,
            });
        }
        if let Some(before) = before {
            if first.is_some() {
                return Err(InvalidInput::new(
                    "before",
                    "use before with last (or after with first), not first with before",
                ));
            }
            return Ok(Self {
                limit: DEFAULT_PAGE_SIZE.min(max),
                direction: Direction::Backward,
                cursor: Some(Cursor::decode(before, "before")?),
            });
        }
        Ok(Self {
            limit: match first {
                Some(first) => size(first, "first")?,
                None => DEFAULT_PAGE_SIZE.min(max),
            },
            direction: Direction::Forward,
            cursor: after.map(|c| Cursor::decode(c, "after")).transpose()?,
        })
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> u64 {
        self.limit as u64 + 1
    }
}

/// One page of rows, in the order the client asked for.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with [`PageRequest::fetch`] in walking order.
    pub fn from_rows(request: &PageRequest, mut rows: Vec<(Cursor, T)>) -> Self {
        let more = rows.len() > request.limit;
        rows.truncate(request.limit);
        match request.direction {
            Direction::Forward => Page {
                items: rows,
                has_next_page: more,
                has_previous_page: request.cursor.is_some(),
            },
            Direction::Backward => {
                rows.reverse();
                Page {
                    items: rows,
                    has_next_page: request.cursor.is_some(),
                    has_previous_page: more,
                }
            }
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        let mut f = f;
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_to_the_nanosecond() {
        let c = Cursor {
            at: DateTime::from_timestamp(1_790_000_000, 123_456_789).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode(), "after").unwrap(), c);
        let v1 = URL_SAFE_NO_PAD.encode(format!("v1|1790000000123456|{}", c.id.simple()));
        assert_eq!(
            Cursor::decode(&v1, "after").unwrap().at,
            DateTime::from_timestamp(1_790_000_000, 123_456_000).unwrap()
        );
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v2|1|2000000000|x"), "after").is_err());
        assert_eq!(
            Cursor::decode("garbage", "after").unwrap_err().field,
            "after"
        );
    }

    #[test]
    fn sizes_are_capped() {
        let err = PageRequest::parse(Some(10_000), None, None, None, 100).unwrap_err();
        assert_eq!(err.field, "first");
        assert!(err.message.contains("between 0 and 100"));
        assert!(PageRequest::parse(Some(-1), None, None, None, 100).is_err());
        assert_eq!(
            PageRequest::parse(None, None, None, None, 100)
                .unwrap()
                .limit,
            DEFAULT_PAGE_SIZE
        );
        assert!(PageRequest::parse(Some(1), None, Some(1), None, 100).is_err());
    }

    #[test]
    fn backward_pages_come_back_in_order() {
        let req = PageRequest::parse(None, None, Some(2), None, 100).unwrap();
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let rows = (0..3)
            .map(|i| {
                (
                    Cursor {
                        at,
                        id: Uuid::from_u128(i),
                    },
                    i,
                )
            })
            .collect();
        let page = Page::from_rows(&req, rows);
        assert_eq!(
            page.items.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            vec![1, 0]
        );
        assert!(page.has_previous_page);
        assert!(!page.has_next_page);
    }
}
