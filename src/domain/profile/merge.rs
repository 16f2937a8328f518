//! The precedence rules as pure functions over a [`Profile`].

use std::cmp::Ordering;

use super::{
    ChangeRecord, Evidence, FieldKey, FieldLock, ListItem, ManualEdit, Outcome, Profile,
    ProfileField, Proposal, Source,
};
use chrono::{DateTime, Utc};

impl Profile {
    /// Merges a proposal (any source but a staff edit; `Source::Manual` is treated as a staff
    /// edit of one value). Returns the history record, applied or not.
    pub fn propose(&mut self, proposal: Proposal) -> ChangeRecord {
        let (key, value, write) = Write::proposed(proposal);
        let source = write.source;
        if value.is_empty() {
            // Values arrive normalized, so this is a caller bug; an empty value must not erase data.
            return self.nothing_to_do(&key, &write);
        }
        match (key.is_list(), source) {
            (false, Source::Manual) => self.write_manual_value(&key, value, write),
            (false, _) => self.propose_value(&key, value, write),
            (true, Source::Manual) => self.write_manual_item(&key, value, write),
            (true, _) => self.propose_item(&key, value, write),
        }
    }

    /// Records a proposal that may not be applied for a reason outside the profile
    /// (`outcome`, e.g. the value identifies another lead) and changes nothing. A proposal of
    /// what the field already holds is `Unchanged`, as it would be if merged.
    pub fn decline(&self, proposal: Proposal, outcome: Outcome) -> ChangeRecord {
        let (key, value, write) = Write::proposed(proposal);
        let item = key.is_list().then(|| value.clone());
        let (old, repeated) = match self.fields.get(key.as_str()) {
            Some(field) if key.is_list() => {
                let held = find_item(&field.items, &value)
                    .filter(|&i| !field.items[i].blocked)
                    .map(|i| field.items[i].value.clone());
                let repeated = held.is_some();
                (held, repeated)
            }
            Some(field) => {
                let current = field.display_value();
                let repeated = current.as_deref() == Some(value.as_str());
                (current, repeated)
            }
            None => (None, false),
        };
        let outcome = if repeated {
            Outcome::Unchanged
        } else {
            outcome
        };
        write.record(&key, item, old, Some(value), outcome)
    }

    /// A staff edit: writes MANUAL values and locks them for staff: a scalar field as a whole, a
    /// list item by item (listed items become MANUAL, the others are blocked; the list stays open).
    pub fn set_manual(&mut self, edit: ManualEdit) -> ChangeRecord {
        let ManualEdit {
            key,
            values,
            actor,
            at,
        } = edit;
        let write = Write::staff(&actor, at);
        if key.is_list() {
            return self.write_manual_list(&key, values, write);
        }
        let value = values
            .into_iter()
            .next()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        match value {
            Some(value) => self.write_manual_value(&key, value, write),
            // The service sends exactly one value for a scalar; a missing one is a caller bug and
            // must not erase anything (erasing is `reject`).
            None => self.nothing_to_do(&key, &write),
        }
    }

    /// Staff reject a field (or one list item): it is emptied and locked against proposals.
    pub fn reject(
        &mut self,
        key: &FieldKey,
        item: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> ChangeRecord {
        let write = Write::staff(actor, at);
        match item.map(str::trim) {
            Some("") if key.is_list() => self.nothing_to_do(key, &write),
            Some(item) if key.is_list() => self.reject_item(key, item, write),
            // A scalar has no items: an item names the whole field (the service validates first).
            _ => self.reject_field(key, write),
        }
    }

    /// Staff release a field: the value stays, but proposals may replace it again.
    pub fn release(&mut self, key: &FieldKey, actor: &str, at: DateTime<Utc>) -> ChangeRecord {
        let write = Write::staff(actor, at);
        let Some(field) = self.fields.get_mut(key.as_str()) else {
            return write.record(key, None, None, None, Outcome::Unchanged);
        };
        let old = field.display_value();
        if field.lock == FieldLock::Open && !field.items.iter().any(|i| i.blocked) {
            // Nothing is held: reporting a release would claim a change that did not happen.
            return write.record(key, None, old.clone(), old, Outcome::Unchanged);
        }
        field.lock = FieldLock::Open;
        // Forgetting blocked items is what lets proposals bring them back.
        field.items.retain(|i| !i.blocked);
        // Source and confidence stay: the value is still the one staff wrote, and the rules for a
        // released MANUAL value let any proposal replace it.
        let new = field.display_value();
        write.record(key, None, old, new, Outcome::StaffReleased)
    }

    /// A non-manual proposal for a scalar field.
    fn propose_value(&mut self, key: &FieldKey, value: String, write: Write) -> ChangeRecord {
        let Some(field) = self.fields.get_mut(key.as_str()) else {
            let field = write.field(Some(value.clone()), Vec::new(), FieldLock::Open);
            self.fields.insert(key.as_str().to_owned(), field);
            return write.record(key, None, None, Some(value), Outcome::Applied);
        };
        let old = field.display_value();
        let outcome = match (field.lock, field.value.as_deref()) {
            (FieldLock::Rejected, _) => Outcome::RejectedByStaff,
            (FieldLock::Manual, _) => Outcome::KeptManual,
            (FieldLock::Open, None) => Outcome::Applied,
            // Staff released their value: any proposal may replace it, a repeat changes nothing.
            (FieldLock::Open, Some(current)) if field.source == Source::Manual => {
                if current == value {
                    Outcome::Unchanged
                } else {
                    Outcome::Applied
                }
            }
            (FieldLock::Open, Some(current)) => contest(
                field.source,
                field.confidence,
                field.updated_at,
                current == value,
                &write,
            ),
        };
        if outcome == Outcome::Applied {
            replace_value(field, &value);
            write.stamp_field(field);
        }
        write.record(key, None, old, Some(value), outcome)
    }

    /// A non-manual proposal of one item of a list field.
    fn propose_item(&mut self, key: &FieldKey, value: String, write: Write) -> ChangeRecord {
        let Some(field) = self.fields.get_mut(key.as_str()) else {
            let field = write.field(None, vec![write.item(value.clone())], FieldLock::Open);
            self.fields.insert(key.as_str().to_owned(), field);
            return write.record(
                key,
                Some(value.clone()),
                None,
                Some(value),
                Outcome::Applied,
            );
        };
        let found = find_item(&field.items, &value);
        // The first spelling names the item; later spellings only confirm it.
        let name = found.map_or(value, |i| field.items[i].value.clone());
        let old = found
            .filter(|&i| !field.items[i].blocked)
            .map(|_| name.clone());
        let outcome = match found.map(|i| &field.items[i]) {
            _ if field.lock == FieldLock::Rejected => Outcome::RejectedByStaff,
            Some(item) if item.blocked => Outcome::RejectedByStaff,
            // Our staff writes leave lists open, but a list stored as MANUAL is held all the same.
            _ if field.lock == FieldLock::Manual => Outcome::KeptManual,
            Some(item) if item.source == Source::Manual => Outcome::KeptManual,
            // The item is there already, so this can only confirm it: never `LowerConfidence`.
            Some(item) => contest(item.source, item.confidence, item.updated_at, true, &write),
            None => Outcome::Applied,
        };
        if outcome == Outcome::Applied {
            let before = field.display_value();
            match found {
                Some(i) => write.stamp_item(&mut field.items[i]),
                None => field.items.push(write.item(name.clone())),
            }
            write.stamp_field(field);
            note_replaced(field, before);
        }
        write.record(key, Some(name.clone()), old, Some(name), outcome)
    }

    /// A staff write of a scalar value: it holds the field until staff change or release it.
    fn write_manual_value(&mut self, key: &FieldKey, value: String, write: Write) -> ChangeRecord {
        let Some(field) = self.fields.get_mut(key.as_str()) else {
            let field = write.field(Some(value.clone()), Vec::new(), FieldLock::Manual);
            self.fields.insert(key.as_str().to_owned(), field);
            return write.record(key, None, None, Some(value), Outcome::Applied);
        };
        let old = field.display_value();
        let held = field.lock == FieldLock::Manual && field.source == Source::Manual;
        if held && field.value.as_deref() == Some(value.as_str()) {
            return write.record(key, None, old, Some(value), Outcome::Unchanged);
        }
        replace_value(field, &value);
        field.lock = FieldLock::Manual;
        write.stamp_field(field);
        write.record(key, None, old, Some(value), Outcome::Applied)
    }

    /// A staff write of one list item, leaving the other items as they are.
    fn write_manual_item(&mut self, key: &FieldKey, value: String, write: Write) -> ChangeRecord {
        let Some(field) = self.fields.get_mut(key.as_str()) else {
            let field = write.field(None, vec![write.item(value.clone())], FieldLock::Open);
            self.fields.insert(key.as_str().to_owned(), field);
            return write.record(
                key,
                Some(value.clone()),
                None,
                Some(value),
                Outcome::Applied,
            );
        };
        let found = find_item(&field.items, &value);
        let old = found
            .filter(|&i| !field.items[i].blocked)
            .map(|i| field.items[i].value.clone());
        let before = field.display_value();
        let mut changed = match found {
            Some(i) => make_manual(&mut field.items[i], &value, &write),
            None => {
                field.items.push(write.item(value.clone()));
                true
            }
        };
        changed |= open_list(field);
        let outcome = if changed {
            write.stamp_field(field);
            note_replaced(field, before);
            Outcome::Applied
        } else {
            Outcome::Unchanged
        };
        write.record(key, Some(value.clone()), old, Some(value), outcome)
    }

    /// Staff set the whole list: listed items become MANUAL, the others are blocked.
    fn write_manual_list(
        &mut self,
        key: &FieldKey,
        values: Vec<String>,
        write: Write,
    ) -> ChangeRecord {
        let mut wanted: Vec<String> = Vec::new();
        for value in values {
            let value = value.trim();
            if !value.is_empty() && !wanted.iter().any(|w| same_item(w, value)) {
                wanted.push(value.to_owned());
            }
        }
        let Some(field) = self.fields.get_mut(key.as_str()) else {
            if wanted.is_empty() {
                return write.record(key, None, None, None, Outcome::Unchanged);
            }
            let items = wanted.into_iter().map(|v| write.item(v)).collect();
            let field = write.field(None, items, FieldLock::Open);
            let new = field.display_value();
            self.fields.insert(key.as_str().to_owned(), field);
            return write.record(key, None, None, new, Outcome::Applied);
        };
        let before = field.display_value();
        let mut changed = false;
        // A staff removal blocks the item, so no proposal can put it back.
        for item in field
            .items
            .iter_mut()
            .filter(|i| !i.blocked && !wanted.iter().any(|w| same_item(&i.value, w)))
        {
            block_item(item, &write);
            changed = true;
        }
        for value in &wanted {
            changed |= match find_item(&field.items, value) {
                Some(i) => make_manual(&mut field.items[i], value, &write),
                None => {
                    field.items.push(write.item(value.clone()));
                    true
                }
            };
        }
        changed |= open_list(field);
        let outcome = if changed {
            write.stamp_field(field);
            note_replaced(field, before.clone());
            Outcome::Applied
        } else {
            Outcome::Unchanged
        };
        let new = field.display_value();
        write.record(key, None, before, new, outcome)
    }

    /// Staff reject one list item: it is blocked (added blocked if absent).
    fn reject_item(&mut self, key: &FieldKey, item: &str, write: Write) -> ChangeRecord {
        let field = self
            .fields
            .entry(key.as_str().to_owned())
            .or_insert_with(|| write.field(None, Vec::new(), FieldLock::Open));
        let found = find_item(&field.items, item);
        let name = found.map_or_else(|| item.to_owned(), |i| field.items[i].value.clone());
        let old = found
            .filter(|&i| !field.items[i].blocked)
            .map(|_| name.clone());
        let before = field.display_value();
        let outcome = match found {
            Some(i) if field.items[i].blocked => Outcome::Unchanged,
            Some(i) => {
                block_item(&mut field.items[i], &write);
                Outcome::StaffRejected
            }
            // Blocking an item nobody proposed yet keeps the AI from ever adding it.
            None => {
                let mut blocked = write.item(name.clone());
                blocked.blocked = true;
                field.items.push(blocked);
                Outcome::StaffRejected
            }
        };
        if outcome == Outcome::StaffRejected {
            write.stamp_field(field);
            note_replaced(field, before);
        }
        write.record(key, Some(name), old, None, outcome)
    }

    /// Staff reject a whole field: emptied (list items blocked) and locked.
    fn reject_field(&mut self, key: &FieldKey, write: Write) -> ChangeRecord {
        let Some(field) = self.fields.get_mut(key.as_str()) else {
            // Created so the lock exists: the AI must not fill the field later.
            let field = write.field(None, Vec::new(), FieldLock::Rejected);
            self.fields.insert(key.as_str().to_owned(), field);
            return write.record(key, None, None, None, Outcome::StaffRejected);
        };
        let old = field.display_value();
        let already = field.lock == FieldLock::Rejected
            && field.value.is_none()
            && field.visible_items().next().is_none();
        if already {
            return write.record(key, None, old, None, Outcome::Unchanged);
        }
        for item in field.items.iter_mut().filter(|i| !i.blocked) {
            block_item(item, &write);
        }
        field.value = None;
        field.lock = FieldLock::Rejected;
        write.stamp_field(field);
        note_replaced(field, old.clone());
        write.record(key, None, old, None, Outcome::StaffRejected)
    }

    /// The record of a call that had nothing to act on.
    fn nothing_to_do(&self, key: &FieldKey, write: &Write) -> ChangeRecord {
        let old = self.value(key.as_str());
        write.record(key, None, old, None, Outcome::Unchanged)
    }
}

/// The provenance of one call: every value it writes and its history record carry it.
struct Write {
    source: Source,
    /// Already clamped; 1.0 for staff.
    confidence: f64,
    actor: String,
    at: DateTime<Utc>,
    evidence: Vec<Evidence>,
}

impl Write {
    /// A proposal's key, trimmed value and provenance (a `Manual` source is staff's: 1.0).
    fn proposed(proposal: Proposal) -> (FieldKey, String, Self) {
        let Proposal {
            key,
            value,
            source,
            confidence,
            actor,
            evidence,
            at,
        } = proposal;
        let confidence = if source == Source::Manual {
            1.0
        } else {
            clamp_confidence(confidence)
        };
        let write = Self {
            source,
            confidence,
            actor,
            at,
            evidence,
        };
        (key, value.trim().to_owned(), write)
    }

    fn staff(actor: &str, at: DateTime<Utc>) -> Self {
        Self {
            source: Source::Manual,
            confidence: 1.0,
            actor: actor.to_owned(),
            at,
            evidence: Vec::new(),
        }
    }

    fn field(&self, value: Option<String>, items: Vec<ListItem>, lock: FieldLock) -> ProfileField {
        ProfileField {
            value,
            items,
            source: self.source,
            confidence: self.confidence,
            updated_at: self.at,
            updated_by: self.actor.clone(),
            previous_value: None,
            evidence: self.evidence.clone(),
            lock,
        }
    }

    fn item(&self, value: String) -> ListItem {
        ListItem {
            value,
            source: self.source,
            confidence: self.confidence,
            updated_at: self.at,
            updated_by: self.actor.clone(),
            evidence: self.evidence.clone(),
            blocked: false,
        }
    }

    fn stamp_field(&self, field: &mut ProfileField) {
        field.source = self.source;
        field.confidence = self.confidence;
        field.updated_at = self.at;
        field.updated_by.clone_from(&self.actor);
        field.evidence.clone_from(&self.evidence);
    }

    fn stamp_item(&self, item: &mut ListItem) {
        item.source = self.source;
        item.confidence = self.confidence;
        item.updated_at = self.at;
        item.updated_by.clone_from(&self.actor);
        item.evidence.clone_from(&self.evidence);
    }

    fn record(
        &self,
        key: &FieldKey,
        item: Option<String>,
        old_value: Option<String>,
        new_value: Option<String>,
        outcome: Outcome,
    ) -> ChangeRecord {
        ChangeRecord {
            key: key.as_str().to_owned(),
            item,
            old_value,
            new_value,
            source: self.source,
            confidence: self.confidence,
            outcome,
            evidence: self.evidence.iter().map(|e| e.message_id).collect(),
            actor: self.actor.clone(),
            at: self.at,
        }
    }
}

/// Into `0.0..=1.0`; NaN (and -0.0) become 0.0 so comparisons and JSON stay sane.
fn clamp_confidence(confidence: f64) -> f64 {
    if confidence > 0.0 {
        confidence.min(1.0)
    } else {
        0.0
    }
}

/// Precedence between a proposal and the current non-manual value: a higher source wins; the
/// same source wins with at least the current confidence, or strictly more when it only confirms
/// the value, so that repeating a proposal changes nothing. A different value of the same source
/// must also be at least as recent as the current one (`at` is when the message it came from was
/// sent): an older observation does not replace a newer one.
fn contest(
    current_source: Source,
    current_confidence: f64,
    current_at: DateTime<Utc>,
    same_value: bool,
    write: &Write,
) -> Outcome {
    let current_confidence = clamp_confidence(current_confidence);
    match write.source.rank().cmp(&current_source.rank()) {
        Ordering::Greater => Outcome::Applied,
        Ordering::Equal if same_value && write.confidence > current_confidence => Outcome::Applied,
        Ordering::Equal if !same_value && write.confidence >= current_confidence => {
            if write.at < current_at {
                Outcome::Outdated
            } else {
                Outcome::Applied
            }
        }
        _ if same_value => Outcome::Unchanged,
        _ => Outcome::LowerConfidence,
    }
}

/// Writes a scalar value; the value it replaces, if any, becomes `previous_value`.
fn replace_value(field: &mut ProfileField, value: &str) {
    if field.value.as_deref() == Some(value) {
        return;
    }
    if let Some(old) = field.value.replace(value.to_owned()) {
        field.previous_value = Some(old);
    }
}

/// After a list change: the list shown before becomes `previous_value` if what is shown changed.
/// An empty field keeps its `previous_value`, which still names what was there before it emptied.
fn note_replaced(field: &mut ProfileField, before: Option<String>) {
    if before.is_some() && field.display_value() != before {
        field.previous_value = before;
    }
}

/// Turns an item into a staff item with staff's spelling; `false` if it already was one.
fn make_manual(item: &mut ListItem, value: &str, write: &Write) -> bool {
    if item.value == value && item.source == Source::Manual && !item.blocked {
        return false;
    }
    item.value = value.to_owned();
    item.blocked = false;
    write.stamp_item(item);
    true
}

/// Staff removal of an item: hidden, and the staff decision is its provenance.
fn block_item(item: &mut ListItem, write: &Write) {
    item.blocked = true;
    write.stamp_item(item);
}

/// Staff writes leave a list open: the lock is per item (MANUAL items and blocked items), so the
/// AI can still add items staff have not decided on. `true` if the lock changed.
fn open_list(field: &mut ProfileField) -> bool {
    let changed = field.lock != FieldLock::Open;
    field.lock = FieldLock::Open;
    changed
}

fn find_item(items: &[ListItem], value: &str) -> Option<usize> {
    items.iter().position(|i| same_item(&i.value, value))
}

/// List items are the same item regardless of case and surrounding spaces.
fn same_item(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::super::{KnownKey, ProfileField};
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn city() -> FieldKey {
        FieldKey::known(KnownKey::City)
    }

    fn interests() -> FieldKey {
        FieldKey::known(KnownKey::Interests)
    }

    fn evidence(message: u128) -> Vec<Evidence> {
        vec![Evidence::from_message(
            Uuid::from_u128(message),
            "message text",
        )]
    }

    fn proposal(key: &FieldKey, value: &str, source: Source, confidence: f64) -> Proposal {
        Proposal {
            key: key.clone(),
            value: value.to_owned(),
            source,
            confidence,
            actor: format!("{source}:test"),
            evidence: evidence(1),
            at: at(10),
        }
    }

    fn ai(key: &FieldKey, value: &str, confidence: f64) -> Proposal {
        proposal(key, value, Source::Ai, confidence)
    }

    fn edit(key: &FieldKey, values: &[&str]) -> ManualEdit {
        ManualEdit {
            key: key.clone(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            actor: "staff:dana".to_owned(),
            at: at(20),
        }
    }

    fn field<'a>(profile: &'a Profile, key: &FieldKey) -> &'a ProfileField {
        profile.get(key.as_str()).unwrap()
    }

    fn visible(profile: &Profile, key: &FieldKey) -> Vec<String> {
        field(profile, key)
            .visible_items()
            .map(|i| i.value.clone())
            .collect()
    }

    fn item<'a>(profile: &'a Profile, key: &FieldKey, value: &str) -> &'a ListItem {
        field(profile, key)
            .items
            .iter()
            .find(|i| i.value == value)
            .unwrap()
    }

    /// A profile whose city is `value`, written by `source` with `confidence`.
    fn with_city(value: &str, source: Source, confidence: f64) -> Profile {
        let mut profile = Profile::default();
        profile.propose(proposal(&city(), value, source, confidence));
        profile
    }

    /// Runs `op` and checks the record says "changed" exactly when the profile changed.
    fn checked(
        profile: &mut Profile,
        op: impl FnOnce(&mut Profile) -> ChangeRecord,
    ) -> ChangeRecord {
        let before = profile.clone();
        let record = op(profile);
        assert_eq!(record.changed(), before != *profile, "{record:?}");
        record
    }

    // ---- scalar fields: proposals ----

    #[test]
    fn an_older_observation_does_not_replace_a_newer_one_of_the_same_standing() {
        // "I moved to Haifa" (minute 10) is known; a history import then brings "I live in Tel
        // Aviv" from minute 5, as sure.
        let mut profile = with_city("Haifa", Source::Ai, 0.7);
        let older = Proposal {
            at: at(5),
            ..ai(&city(), "Tel Aviv", 0.9)
        };
        let record = checked(&mut profile, |p| p.propose(older.clone()));
        assert_eq!(record.outcome, Outcome::Outdated);
        assert_eq!(field(&profile, &city()).value.as_deref(), Some("Haifa"));
        // The same proposal from a later message wins, as before.
        let newer = Proposal {
            at: at(11),
            ..older
        };
        let record = checked(&mut profile, |p| p.propose(newer));
        assert_eq!(record.outcome, Outcome::Applied);
        let f = field(&profile, &city());
        assert_eq!(
            (f.value.as_deref(), f.updated_at),
            (Some("Tel Aviv"), at(11))
        );
    }

    #[test]
    fn a_stronger_source_wins_however_old() {
        let mut profile = with_city("Haifa", Source::Ai, 0.9);
        let older = Proposal {
            at: at(1),
            ..proposal(&city(), "Eilat", Source::Channel, 0.5)
        };
        let record = checked(&mut profile, |p| p.propose(older));
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(field(&profile, &city()).value.as_deref(), Some("Eilat"));
    }

    #[test]
    fn ai_proposal_creates_a_missing_field_with_full_provenance() {
        let mut profile = Profile::default();
        let record = checked(&mut profile, |p| p.propose(ai(&city(), "Haifa", 0.7)));
        assert_eq!(record.outcome, Outcome::Applied);
        let f = field(&profile, &city());
        assert_eq!(f.value.as_deref(), Some("Haifa"));
        assert_eq!(f.source, Source::Ai);
        assert_eq!(f.confidence, 0.7);
        assert_eq!(f.updated_at, at(10));
        assert_eq!(f.updated_by, "ai:test");
        assert_eq!(f.evidence, evidence(1));
        assert_eq!(f.lock, FieldLock::Open);
        assert_eq!(f.previous_value, None);
        assert!(f.items.is_empty());
    }

    #[test]
    fn record_carries_key_values_provenance_and_message_ids() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let record = profile.propose(proposal(&city(), "Tel Aviv", Source::Channel, 0.4));
        assert_eq!(
            record,
            ChangeRecord {
                key: "city".to_owned(),
                item: None,
                old_value: Some("Haifa".to_owned()),
                new_value: Some("Tel Aviv".to_owned()),
                source: Source::Channel,
                confidence: 0.4,
                outcome: Outcome::Applied,
                evidence: vec![Uuid::from_u128(1)],
                actor: "channel:test".to_owned(),
                at: at(10),
            }
        );
    }

    #[test]
    fn a_declined_proposal_is_recorded_and_changes_nothing() {
        let profile = with_city("Haifa", Source::Ai, 0.5);
        let before = profile.clone();
        let record = profile.decline(
            Proposal {
                evidence: evidence(7),
                ..proposal(&city(), "Tel Aviv", Source::Channel, 0.9)
            },
            Outcome::AnotherLead,
        );
        assert_eq!(profile, before);
        assert_eq!(record.outcome, Outcome::AnotherLead);
        assert!(!record.changed());
        assert_eq!(
            (record.old_value.as_deref(), record.new_value.as_deref()),
            (Some("Haifa"), Some("Tel Aviv"))
        );
        assert_eq!((record.source, record.confidence), (Source::Channel, 0.9));
        assert_eq!(record.evidence.len(), 1);
        // What the field already holds is a repeat, as a merge would find.
        let again = profile.decline(
            proposal(&city(), "Haifa", Source::Channel, 0.9),
            Outcome::AnotherLead,
        );
        assert_eq!(again.outcome, Outcome::Unchanged);
        // A list names the item.
        let mut interests = Profile::default();
        let key = FieldKey::known(KnownKey::Interests);
        interests.propose(proposal(&key, "Hotels", Source::Ai, 0.5));
        let record = interests.decline(
            proposal(&key, "hotels", Source::Ai, 0.5),
            Outcome::AnotherLead,
        );
        assert_eq!(
            (record.item.as_deref(), record.outcome),
            (Some("hotels"), Outcome::Unchanged)
        );
        let record = interests.decline(
            proposal(&key, "flights", Source::Ai, 0.5),
            Outcome::AnotherLead,
        );
        assert_eq!(
            (record.item.as_deref(), record.outcome),
            (Some("flights"), Outcome::AnotherLead)
        );
        assert_eq!(interests.value(key.as_str()).as_deref(), Some("Hotels"));
    }

    #[test]
    fn proposal_that_is_not_applied_is_still_recorded_with_its_evidence() {
        let mut profile = with_city("Haifa", Source::Import, 0.9);
        let record = profile.propose(Proposal {
            evidence: evidence(7),
            ..ai(&city(), "Eilat", 1.0)
        });
        assert_eq!(record.outcome, Outcome::LowerConfidence);
        assert_eq!(record.old_value.as_deref(), Some("Haifa"));
        assert_eq!(record.new_value.as_deref(), Some("Eilat"));
        assert_eq!(record.evidence, vec![Uuid::from_u128(7)]);
    }

    #[test]
    fn ai_proposal_against_manual_value_is_kept_manual_and_recorded() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&city(), &["Haifa"]));
        for source in [Source::Ai, Source::Channel, Source::Import] {
            let record = checked(&mut profile, |p| {
                p.propose(proposal(&city(), "Eilat", source, 1.0))
            });
            assert_eq!(record.outcome, Outcome::KeptManual);
            assert_eq!(record.new_value.as_deref(), Some("Eilat"));
        }
        assert_eq!(profile.value("city").as_deref(), Some("Haifa"));
        assert_eq!(field(&profile, &city()).source, Source::Manual);
    }

    #[test]
    fn proposal_against_a_rejected_field_is_rejected_by_staff() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        profile.reject(&city(), None, "staff:dana", at(20));
        for source in [Source::Ai, Source::Channel, Source::Import] {
            let record = checked(&mut profile, |p| {
                p.propose(proposal(&city(), "Haifa", source, 1.0))
            });
            assert_eq!(record.outcome, Outcome::RejectedByStaff);
        }
        assert_eq!(profile.value("city"), None);
    }

    #[test]
    fn released_manual_value_is_replaced_by_any_proposal() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&city(), &["Haifa"]));
        profile.release(&city(), "staff:dana", at(30));
        let record = checked(&mut profile, |p| p.propose(ai(&city(), "Eilat", 0.1)));
        assert_eq!(record.outcome, Outcome::Applied);
        let f = field(&profile, &city());
        assert_eq!(f.value.as_deref(), Some("Eilat"));
        assert_eq!(f.previous_value.as_deref(), Some("Haifa"));
        assert_eq!((f.source, f.confidence), (Source::Ai, 0.1));
    }

    #[test]
    fn released_manual_value_repeated_by_a_proposal_is_unchanged() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&city(), &["Haifa"]));
        profile.release(&city(), "staff:dana", at(30));
        let record = checked(&mut profile, |p| {
            p.propose(proposal(&city(), "Haifa", Source::Import, 1.0))
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
        assert_eq!(field(&profile, &city()).source, Source::Manual);
    }

    #[test]
    fn same_value_from_a_higher_source_upgrades_provenance_without_touching_previous_value() {
        let mut profile = with_city("Eilat", Source::Ai, 0.9);
        profile.propose(ai(&city(), "Haifa", 0.9));
        let record = checked(&mut profile, |p| {
            p.propose(Proposal {
                evidence: evidence(2),
                at: at(15),
                ..proposal(&city(), "Haifa", Source::Channel, 0.2)
            })
        });
        assert_eq!(record.outcome, Outcome::Applied);
        let f = field(&profile, &city());
        assert_eq!(f.value.as_deref(), Some("Haifa"));
        assert_eq!(f.previous_value.as_deref(), Some("Eilat"));
        assert_eq!((f.source, f.confidence), (Source::Channel, 0.2));
        assert_eq!(f.evidence, evidence(2));
        assert_eq!(
            (f.updated_at, f.updated_by.as_str()),
            (at(15), "channel:test")
        );
    }

    #[test]
    fn same_value_same_source_with_higher_confidence_upgrades_confidence() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let record = checked(&mut profile, |p| p.propose(ai(&city(), "Haifa", 0.8)));
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(field(&profile, &city()).confidence, 0.8);
        assert_eq!(field(&profile, &city()).previous_value, None);
    }

    #[test]
    fn same_value_with_equal_or_lower_confidence_or_source_is_unchanged() {
        for (source, confidence) in [
            (Source::Import, 0.5),
            (Source::Import, 0.4),
            (Source::Channel, 1.0),
            (Source::Ai, 1.0),
        ] {
            let mut profile = with_city("Haifa", Source::Import, 0.5);
            let before = profile.clone();
            let record = profile.propose(Proposal {
                evidence: evidence(9),
                at: at(99),
                ..proposal(&city(), "Haifa", source, confidence)
            });
            assert_eq!(record.outcome, Outcome::Unchanged, "{source} {confidence}");
            assert!(!record.changed());
            assert_eq!(profile, before, "evidence and timestamps stay too");
        }
    }

    #[test]
    fn applying_the_same_proposal_twice_changes_nothing_the_second_time() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let first = profile.propose(ai(&city(), "Eilat", 0.6));
        assert_eq!(first.outcome, Outcome::Applied);
        let after_first = profile.clone();
        let second = profile.propose(ai(&city(), "Eilat", 0.6));
        assert_eq!(second.outcome, Outcome::Unchanged);
        assert_eq!(profile, after_first);
    }

    #[test]
    fn different_value_from_a_higher_source_replaces_even_with_lower_confidence() {
        let mut profile = with_city("Haifa", Source::Ai, 0.9);
        let record = checked(&mut profile, |p| {
            p.propose(proposal(&city(), "Eilat", Source::Import, 0.1))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        let f = field(&profile, &city());
        assert_eq!(f.value.as_deref(), Some("Eilat"));
        assert_eq!(f.previous_value.as_deref(), Some("Haifa"));
        assert_eq!((f.source, f.confidence), (Source::Import, 0.1));
    }

    #[test]
    fn different_value_same_source_with_at_least_the_confidence_replaces() {
        for confidence in [0.5, 0.9] {
            let mut profile = with_city("Haifa", Source::Ai, 0.5);
            let record = checked(&mut profile, |p| {
                p.propose(ai(&city(), "Eilat", confidence))
            });
            assert_eq!(record.outcome, Outcome::Applied);
            assert_eq!(profile.value("city").as_deref(), Some("Eilat"));
            assert_eq!(
                field(&profile, &city()).previous_value.as_deref(),
                Some("Haifa")
            );
        }
    }

    #[test]
    fn different_value_same_source_with_lower_confidence_is_lower_confidence() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let record = checked(&mut profile, |p| p.propose(ai(&city(), "Eilat", 0.49)));
        assert_eq!(record.outcome, Outcome::LowerConfidence);
        assert_eq!(profile.value("city").as_deref(), Some("Haifa"));
    }

    #[test]
    fn different_value_from_a_lower_source_is_lower_confidence_even_when_surer() {
        let mut profile = with_city("Haifa", Source::Channel, 0.1);
        let record = checked(&mut profile, |p| p.propose(ai(&city(), "Eilat", 1.0)));
        assert_eq!(record.outcome, Outcome::LowerConfidence);
        assert_eq!(profile.value("city").as_deref(), Some("Haifa"));
    }

    #[test]
    fn scalar_values_compare_exactly_but_ignore_surrounding_spaces() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        assert_eq!(
            profile.propose(ai(&city(), "  Haifa ", 0.5)).outcome,
            Outcome::Unchanged
        );
        assert_eq!(
            profile.propose(ai(&city(), "haifa", 0.5)).outcome,
            Outcome::Applied
        );
    }

    #[test]
    fn confidence_is_clamped_and_nan_becomes_zero() {
        for (given, stored) in [
            (1.7, 1.0_f64),
            (f64::INFINITY, 1.0),
            (-0.2, 0.0),
            (-0.0, 0.0),
            (f64::NAN, 0.0),
        ] {
            let mut profile = Profile::default();
            let record = profile.propose(ai(&city(), "Haifa", given));
            assert_eq!(record.confidence.to_bits(), stored.to_bits(), "{given}");
            let f = field(&profile, &city());
            assert_eq!(f.confidence.to_bits(), stored.to_bits(), "{given}");
        }
    }

    #[test]
    fn nan_confidence_never_beats_a_current_value() {
        let mut profile = with_city("Haifa", Source::Ai, 0.1);
        assert_eq!(
            profile.propose(ai(&city(), "Eilat", f64::NAN)).outcome,
            Outcome::LowerConfidence
        );
    }

    #[test]
    fn empty_proposal_value_changes_nothing() {
        let mut profile = with_city("Haifa", Source::Ai, 0.1);
        let record = checked(&mut profile, |p| p.propose(ai(&city(), "   ", 1.0)));
        assert_eq!(record.outcome, Outcome::Unchanged);
        let record = checked(&mut profile, |p| p.propose(ai(&interests(), "", 1.0)));
        assert_eq!(record.outcome, Outcome::Unchanged);
        assert!(profile.get("interests").is_none());
    }

    // ---- scalar fields: staff ----

    #[test]
    fn manual_proposal_is_a_staff_write_even_on_a_rejected_field() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        profile.reject(&city(), None, "staff:dana", at(20));
        let record = checked(&mut profile, |p| {
            p.propose(proposal(&city(), "Eilat", Source::Manual, 0.3))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(record.confidence, 1.0);
        let f = field(&profile, &city());
        assert_eq!(f.value.as_deref(), Some("Eilat"));
        assert_eq!(
            (f.source, f.confidence, f.lock),
            (Source::Manual, 1.0, FieldLock::Manual)
        );
        let again = checked(&mut profile, |p| {
            p.propose(proposal(&city(), "Eilat", Source::Manual, 0.3))
        });
        assert_eq!(again.outcome, Outcome::Unchanged);
    }

    #[test]
    fn set_manual_writes_a_locked_manual_value_and_clears_evidence() {
        let mut profile = with_city("Haifa", Source::Import, 0.9);
        let record = checked(&mut profile, |p| p.set_manual(edit(&city(), &["Eilat"])));
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(record.old_value.as_deref(), Some("Haifa"));
        assert_eq!(record.new_value.as_deref(), Some("Eilat"));
        assert_eq!((record.source, record.confidence), (Source::Manual, 1.0));
        assert!(record.evidence.is_empty());
        let f = field(&profile, &city());
        assert_eq!(f.value.as_deref(), Some("Eilat"));
        assert_eq!(f.previous_value.as_deref(), Some("Haifa"));
        assert_eq!(
            (f.source, f.confidence, f.lock),
            (Source::Manual, 1.0, FieldLock::Manual)
        );
        assert!(f.evidence.is_empty());
        assert_eq!(
            (f.updated_at, f.updated_by.as_str()),
            (at(20), "staff:dana")
        );
    }

    #[test]
    fn set_manual_of_the_current_ai_value_locks_it_without_touching_previous_value() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let record = checked(&mut profile, |p| p.set_manual(edit(&city(), &["Haifa"])));
        assert_eq!(record.outcome, Outcome::Applied);
        let f = field(&profile, &city());
        assert_eq!(
            (f.lock, f.previous_value.as_deref()),
            (FieldLock::Manual, None)
        );
    }

    #[test]
    fn set_manual_with_the_same_value_again_is_unchanged() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&city(), &["Haifa"]));
        let before = profile.clone();
        let record = profile.set_manual(ManualEdit {
            actor: "staff:other".to_owned(),
            at: at(99),
            ..edit(&city(), &["Haifa"])
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
        assert_eq!(profile, before);
    }

    #[test]
    fn set_manual_on_a_released_value_locks_it_again() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&city(), &["Haifa"]));
        profile.release(&city(), "staff:dana", at(30));
        let record = checked(&mut profile, |p| p.set_manual(edit(&city(), &["Haifa"])));
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(field(&profile, &city()).lock, FieldLock::Manual);
    }

    #[test]
    fn set_manual_with_no_value_for_a_scalar_changes_nothing() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        for values in [&[][..], &["  "][..]] {
            let record = checked(&mut profile, |p| p.set_manual(edit(&city(), values)));
            assert_eq!(record.outcome, Outcome::Unchanged);
        }
        assert_eq!(profile.value("city").as_deref(), Some("Haifa"));
    }

    #[test]
    fn reject_empties_the_field_locks_it_and_keeps_the_old_value() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let record = checked(&mut profile, |p| {
            p.reject(&city(), None, "staff:dana", at(20))
        });
        assert_eq!(record.outcome, Outcome::StaffRejected);
        assert_eq!(record.old_value.as_deref(), Some("Haifa"));
        assert_eq!(record.new_value, None);
        assert_eq!((record.source, record.confidence), (Source::Manual, 1.0));
        let f = field(&profile, &city());
        assert_eq!(f.value, None);
        assert_eq!(f.previous_value.as_deref(), Some("Haifa"));
        assert_eq!(
            (f.source, f.confidence, f.lock),
            (Source::Manual, 1.0, FieldLock::Rejected)
        );
        assert!(f.evidence.is_empty());
    }

    #[test]
    fn reject_of_a_missing_field_creates_it_empty_and_locked() {
        let mut profile = Profile::default();
        let record = checked(&mut profile, |p| {
            p.reject(&city(), None, "staff:dana", at(20))
        });
        assert_eq!(record.outcome, Outcome::StaffRejected);
        let f = field(&profile, &city());
        assert!(f.is_empty());
        assert_eq!(f.lock, FieldLock::Rejected);
        assert_eq!(
            profile.propose(ai(&city(), "Haifa", 1.0)).outcome,
            Outcome::RejectedByStaff
        );
    }

    #[test]
    fn rejecting_twice_is_unchanged() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        profile.reject(&city(), None, "staff:dana", at(20));
        let record = checked(&mut profile, |p| {
            p.reject(&city(), None, "staff:eli", at(40))
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
    }

    #[test]
    fn rejecting_a_manual_value_empties_it_too() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&city(), &["Haifa"]));
        let record = checked(&mut profile, |p| {
            p.reject(&city(), None, "staff:dana", at(30))
        });
        assert_eq!(record.outcome, Outcome::StaffRejected);
        assert_eq!(field(&profile, &city()).lock, FieldLock::Rejected);
        assert_eq!(profile.value("city"), None);
    }

    #[test]
    fn reject_of_a_scalar_with_an_item_rejects_the_whole_field() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let record = checked(&mut profile, |p| {
            p.reject(&city(), Some("Haifa"), "staff:dana", at(20))
        });
        assert_eq!(record.outcome, Outcome::StaffRejected);
        assert_eq!(record.item, None);
        assert_eq!(field(&profile, &city()).lock, FieldLock::Rejected);
        assert!(field(&profile, &city()).items.is_empty());
    }

    #[test]
    fn release_keeps_a_manual_value_with_manual_source() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&city(), &["Haifa"]));
        let held = field(&profile, &city()).clone();
        let record = checked(&mut profile, |p| p.release(&city(), "staff:eli", at(30)));
        assert_eq!(record.outcome, Outcome::StaffReleased);
        assert_eq!(record.old_value.as_deref(), Some("Haifa"));
        assert_eq!(record.new_value.as_deref(), Some("Haifa"));
        assert_eq!(
            *field(&profile, &city()),
            ProfileField {
                lock: FieldLock::Open,
                ..held
            },
            "only the lock moves"
        );
    }

    #[test]
    fn release_of_a_rejected_scalar_leaves_it_empty_and_open_for_proposals() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        profile.reject(&city(), None, "staff:dana", at(20));
        let record = checked(&mut profile, |p| p.release(&city(), "staff:dana", at(30)));
        assert_eq!(record.outcome, Outcome::StaffReleased);
        let f = field(&profile, &city());
        assert_eq!((f.value.as_deref(), f.lock), (None, FieldLock::Open));
        let record = checked(&mut profile, |p| p.propose(ai(&city(), "Eilat", 0.1)));
        assert_eq!(record.outcome, Outcome::Applied);
        let f = field(&profile, &city());
        assert_eq!(f.value.as_deref(), Some("Eilat"));
        assert_eq!(
            f.previous_value.as_deref(),
            Some("Haifa"),
            "filling an empty field keeps the value it held before it was emptied"
        );
    }

    #[test]
    fn release_of_a_missing_or_open_field_is_unchanged() {
        let mut profile = with_city("Haifa", Source::Ai, 0.5);
        let record = checked(&mut profile, |p| p.release(&city(), "staff:dana", at(30)));
        assert_eq!(record.outcome, Outcome::Unchanged);
        let record = checked(&mut profile, |p| {
            p.release(&interests(), "staff:dana", at(30))
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
        assert!(profile.get("interests").is_none());
    }

    #[test]
    fn custom_tenant_keys_are_scalars() {
        let tier = FieldKey::parse("loyalty_tier", "key").unwrap();
        let mut profile = Profile::default();
        profile.propose(ai(&tier, "gold", 0.5));
        profile.propose(ai(&tier, "silver", 0.6));
        assert_eq!(profile.value("loyalty_tier").as_deref(), Some("silver"));
        assert!(field(&profile, &tier).items.is_empty());
    }

    // ---- list fields ----

    #[test]
    fn list_proposal_creates_the_field_with_one_item() {
        let mut profile = Profile::default();
        let record = checked(&mut profile, |p| p.propose(ai(&interests(), "yoga", 0.6)));
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(record.item.as_deref(), Some("yoga"));
        assert_eq!(record.old_value, None);
        assert_eq!(record.new_value.as_deref(), Some("yoga"));
        let f = field(&profile, &interests());
        assert_eq!(f.value, None);
        assert_eq!(
            (f.source, f.confidence, f.lock),
            (Source::Ai, 0.6, FieldLock::Open)
        );
        let yoga = item(&profile, &interests(), "yoga");
        assert_eq!(
            (yoga.source, yoga.confidence, yoga.blocked),
            (Source::Ai, 0.6, false)
        );
        assert_eq!(yoga.evidence, evidence(1));
        assert_eq!(profile.value("interests").as_deref(), Some("yoga"));
    }

    #[test]
    fn list_items_are_appended_and_field_provenance_follows_the_last_change() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.6));
        let record = checked(&mut profile, |p| {
            p.propose(Proposal {
                at: at(15),
                evidence: evidence(3),
                ..proposal(&interests(), "chess", Source::Import, 0.4)
            })
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(visible(&profile, &interests()), ["yoga", "chess"]);
        let f = field(&profile, &interests());
        assert_eq!((f.source, f.confidence), (Source::Import, 0.4));
        assert_eq!((f.updated_at, f.evidence.clone()), (at(15), evidence(3)));
        assert_eq!(f.value, None);
        assert_eq!(f.previous_value.as_deref(), Some("yoga"));
        assert_eq!(profile.value("interests").as_deref(), Some("yoga, chess"));
    }

    #[test]
    fn list_items_match_case_insensitively_after_trimming_and_keep_the_first_spelling() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "Yoga", 0.5));
        let record = checked(&mut profile, |p| {
            p.propose(ai(&interests(), "  yoga ", 0.9))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(record.item.as_deref(), Some("Yoga"));
        assert_eq!(record.old_value.as_deref(), Some("Yoga"));
        assert_eq!(visible(&profile, &interests()), ["Yoga"]);
        assert_eq!(item(&profile, &interests(), "Yoga").confidence, 0.9);
    }

    #[test]
    fn existing_item_is_upgraded_by_a_higher_source_without_touching_previous_value() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.9));
        let record = checked(&mut profile, |p| {
            p.propose(proposal(&interests(), "yoga", Source::Channel, 0.1))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        let yoga = item(&profile, &interests(), "yoga");
        assert_eq!((yoga.source, yoga.confidence), (Source::Channel, 0.1));
        assert_eq!(field(&profile, &interests()).previous_value, None);
    }

    #[test]
    fn weaker_or_equal_proposal_of_an_existing_item_is_unchanged() {
        for (source, confidence) in [
            (Source::Channel, 0.5),
            (Source::Channel, 0.2),
            (Source::Ai, 1.0),
        ] {
            let mut profile = Profile::default();
            profile.propose(proposal(&interests(), "yoga", Source::Channel, 0.5));
            let record = checked(&mut profile, |p| {
                p.propose(proposal(&interests(), "YOGA", source, confidence))
            });
            assert_eq!(record.outcome, Outcome::Unchanged, "{source} {confidence}");
        }
    }

    #[test]
    fn ai_proposal_of_a_manual_item_is_kept_manual() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&interests(), &["Yoga"]));
        let record = checked(&mut profile, |p| {
            p.propose(proposal(&interests(), "yoga", Source::Import, 1.0))
        });
        assert_eq!(record.outcome, Outcome::KeptManual);
        assert_eq!(record.item.as_deref(), Some("Yoga"));
        assert_eq!(item(&profile, &interests(), "Yoga").source, Source::Manual);
    }

    #[test]
    fn blocked_item_proposal_is_rejected_by_staff_and_stays_hidden() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.reject(&interests(), Some("Yoga"), "staff:dana", at(20));
        for source in [Source::Ai, Source::Channel, Source::Import] {
            let record = checked(&mut profile, |p| {
                p.propose(proposal(&interests(), "yoga", source, 1.0))
            });
            assert_eq!(record.outcome, Outcome::RejectedByStaff);
            assert_eq!(record.old_value, None, "a blocked item is not shown");
        }
        assert!(visible(&profile, &interests()).is_empty());
        assert_eq!(profile.value("interests"), None);
    }

    #[test]
    fn rejected_list_field_refuses_every_proposal() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.reject(&interests(), None, "staff:dana", at(20));
        for value in ["yoga", "chess"] {
            let record = checked(&mut profile, |p| {
                p.propose(proposal(&interests(), value, Source::Import, 1.0))
            });
            assert_eq!(record.outcome, Outcome::RejectedByStaff);
        }
        assert_eq!(profile.value("interests"), None);
    }

    #[test]
    fn list_field_held_as_manual_keeps_every_proposal() {
        // Not produced by these rules, but a stored MANUAL lock must hold all the same.
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.fields.get_mut("interests").unwrap().lock = FieldLock::Manual;
        for value in ["yoga", "chess"] {
            let record = checked(&mut profile, |p| p.propose(ai(&interests(), value, 1.0)));
            assert_eq!(record.outcome, Outcome::KeptManual);
        }
    }

    #[test]
    fn set_manual_list_makes_listed_items_manual_and_blocks_the_rest() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.propose(ai(&interests(), "chess", 0.5));
        let record = checked(&mut profile, |p| {
            p.set_manual(edit(&interests(), &["Yoga", "surfing", "SURFING "]))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(record.item, None);
        assert_eq!(record.old_value.as_deref(), Some("yoga, chess"));
        assert_eq!(record.new_value.as_deref(), Some("Yoga, surfing"));
        assert_eq!(visible(&profile, &interests()), ["Yoga", "surfing"]);
        let yoga = item(&profile, &interests(), "Yoga");
        assert_eq!((yoga.source, yoga.confidence), (Source::Manual, 1.0));
        assert!(yoga.evidence.is_empty());
        assert!(item(&profile, &interests(), "chess").blocked);
        let f = field(&profile, &interests());
        assert_eq!((f.source, f.lock), (Source::Manual, FieldLock::Open));
        assert_eq!(f.previous_value.as_deref(), Some("yoga, chess"));
        assert_eq!(
            profile.propose(ai(&interests(), "chess", 1.0)).outcome,
            Outcome::RejectedByStaff
        );
    }

    #[test]
    fn set_manual_list_leaves_the_field_open_so_new_items_can_arrive() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&interests(), &["yoga"]));
        let record = checked(&mut profile, |p| p.propose(ai(&interests(), "chess", 0.3)));
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(visible(&profile, &interests()), ["yoga", "chess"]);
    }

    #[test]
    fn set_manual_list_unblocks_a_listed_blocked_item_and_reopens_a_rejected_list() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.reject(&interests(), None, "staff:dana", at(20));
        let record = checked(&mut profile, |p| {
            p.set_manual(edit(&interests(), &["yoga"]))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(visible(&profile, &interests()), ["yoga"]);
        assert_eq!(field(&profile, &interests()).lock, FieldLock::Open);
    }

    #[test]
    fn set_manual_list_with_the_same_items_is_unchanged() {
        let mut profile = Profile::default();
        profile.set_manual(edit(&interests(), &["yoga", "chess"]));
        let record = checked(&mut profile, |p| {
            p.set_manual(ManualEdit {
                at: at(99),
                ..edit(&interests(), &["chess", "yoga"])
            })
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
    }

    #[test]
    fn set_manual_list_respells_an_item_as_staff_typed_it() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        let record = checked(&mut profile, |p| {
            p.set_manual(edit(&interests(), &["Yoga"]))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(visible(&profile, &interests()), ["Yoga"]);
    }

    #[test]
    fn set_manual_list_on_a_missing_field() {
        let mut profile = Profile::default();
        let record = checked(&mut profile, |p| p.set_manual(edit(&interests(), &[])));
        assert_eq!(record.outcome, Outcome::Unchanged);
        assert!(profile.get("interests").is_none());
        let record = checked(&mut profile, |p| {
            p.set_manual(edit(&interests(), &["yoga"]))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(visible(&profile, &interests()), ["yoga"]);
    }

    #[test]
    fn set_manual_with_an_empty_list_blocks_every_item() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        let record = checked(&mut profile, |p| p.set_manual(edit(&interests(), &[])));
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(profile.value("interests"), None);
        assert_eq!(field(&profile, &interests()).lock, FieldLock::Open);
    }

    #[test]
    fn manual_proposal_adds_one_manual_item_without_blocking_others() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        let record = checked(&mut profile, |p| {
            p.propose(proposal(&interests(), "chess", Source::Manual, 0.2))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(record.confidence, 1.0);
        assert_eq!(visible(&profile, &interests()), ["yoga", "chess"]);
        let chess = item(&profile, &interests(), "chess");
        assert_eq!((chess.source, chess.confidence), (Source::Manual, 1.0));
        assert_eq!(item(&profile, &interests(), "yoga").source, Source::Ai);
        let again = checked(&mut profile, |p| {
            p.propose(proposal(&interests(), "chess", Source::Manual, 0.2))
        });
        assert_eq!(again.outcome, Outcome::Unchanged);
    }

    #[test]
    fn manual_proposal_unblocks_its_item() {
        let mut profile = Profile::default();
        profile.reject(&interests(), Some("yoga"), "staff:dana", at(20));
        let record = checked(&mut profile, |p| {
            p.propose(proposal(&interests(), "Yoga", Source::Manual, 1.0))
        });
        assert_eq!(record.outcome, Outcome::Applied);
        assert_eq!(record.old_value, None);
        assert_eq!(visible(&profile, &interests()), ["Yoga"]);
    }

    #[test]
    fn reject_item_blocks_it_and_records_the_item() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "Yoga", 0.5));
        profile.propose(ai(&interests(), "chess", 0.5));
        let record = checked(&mut profile, |p| {
            p.reject(&interests(), Some(" yoga"), "staff:dana", at(20))
        });
        assert_eq!(record.outcome, Outcome::StaffRejected);
        assert_eq!(record.item.as_deref(), Some("Yoga"));
        assert_eq!(record.old_value.as_deref(), Some("Yoga"));
        assert_eq!(record.new_value, None);
        assert_eq!(visible(&profile, &interests()), ["chess"]);
        let f = field(&profile, &interests());
        assert_eq!(f.lock, FieldLock::Open, "one item does not lock the list");
        assert_eq!(f.previous_value.as_deref(), Some("Yoga, chess"));
    }

    #[test]
    fn reject_item_not_present_adds_a_blocked_item() {
        let mut profile = Profile::default();
        let record = checked(&mut profile, |p| {
            p.reject(&interests(), Some("crypto"), "staff:dana", at(20))
        });
        assert_eq!(record.outcome, Outcome::StaffRejected);
        assert_eq!(record.item.as_deref(), Some("crypto"));
        assert_eq!(record.old_value, None);
        assert!(item(&profile, &interests(), "crypto").blocked);
        assert_eq!(profile.value("interests"), None);
        assert_eq!(
            profile.propose(ai(&interests(), "Crypto", 1.0)).outcome,
            Outcome::RejectedByStaff
        );
    }

    #[test]
    fn reject_item_twice_is_unchanged() {
        let mut profile = Profile::default();
        profile.reject(&interests(), Some("crypto"), "staff:dana", at(20));
        let record = checked(&mut profile, |p| {
            p.reject(&interests(), Some("CRYPTO"), "staff:eli", at(30))
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
        let record = checked(&mut profile, |p| {
            p.reject(&interests(), Some("  "), "staff:eli", at(30))
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
    }

    #[test]
    fn reject_whole_list_blocks_all_items_and_locks() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.set_manual(edit(&interests(), &["yoga", "chess"]));
        let record = checked(&mut profile, |p| {
            p.reject(&interests(), None, "staff:dana", at(30))
        });
        assert_eq!(record.outcome, Outcome::StaffRejected);
        assert_eq!(record.old_value.as_deref(), Some("yoga, chess"));
        let f = field(&profile, &interests());
        assert_eq!(f.lock, FieldLock::Rejected);
        assert!(f.items.iter().all(|i| i.blocked));
        assert_eq!(f.previous_value.as_deref(), Some("yoga, chess"));
        assert_eq!(profile.value("interests"), None);
        let record = checked(&mut profile, |p| {
            p.reject(&interests(), None, "staff:dana", at(40))
        });
        assert_eq!(record.outcome, Outcome::Unchanged);
    }

    #[test]
    fn release_list_forgets_blocked_items_so_they_may_be_proposed_again() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.propose(ai(&interests(), "chess", 0.5));
        profile.reject(&interests(), Some("chess"), "staff:dana", at(20));
        let record = checked(&mut profile, |p| {
            p.release(&interests(), "staff:dana", at(30))
        });
        assert_eq!(record.outcome, Outcome::StaffReleased);
        assert_eq!(field(&profile, &interests()).items.len(), 1);
        assert_eq!(
            profile.propose(ai(&interests(), "chess", 0.1)).outcome,
            Outcome::Applied
        );
        assert_eq!(visible(&profile, &interests()), ["yoga", "chess"]);
    }

    #[test]
    fn release_of_a_rejected_list_opens_it_empty() {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "yoga", 0.5));
        profile.reject(&interests(), None, "staff:dana", at(20));
        let record = checked(&mut profile, |p| {
            p.release(&interests(), "staff:dana", at(30))
        });
        assert_eq!(record.outcome, Outcome::StaffReleased);
        let f = field(&profile, &interests());
        assert!(f.items.is_empty());
        assert_eq!(f.lock, FieldLock::Open);
        assert_eq!(
            profile.propose(ai(&interests(), "yoga", 0.1)).outcome,
            Outcome::Applied
        );
        assert_eq!(
            field(&profile, &interests()).previous_value.as_deref(),
            Some("yoga"),
            "refilling an emptied list keeps what it showed before it was emptied"
        );
    }

    // ---- every combination against an independent oracle ----

    const SOURCES: [Source; 4] = [Source::Manual, Source::Import, Source::Channel, Source::Ai];
    const LOCKS: [FieldLock; 3] = [FieldLock::Open, FieldLock::Manual, FieldLock::Rejected];

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Surer {
        Less,
        Equally,
        More,
    }

    const CURRENT_CONFIDENCE: f64 = 0.5;

    impl Surer {
        const ALL: [Surer; 3] = [Surer::Less, Surer::Equally, Surer::More];

        fn confidence(self) -> f64 {
            match self {
                Surer::Less => 0.3,
                Surer::Equally => CURRENT_CONFIDENCE,
                Surer::More => 0.8,
            }
        }
    }

    /// The architecture's ranking, written out rather than taken from `Source::rank`.
    fn strength(source: Source) -> usize {
        [Source::Ai, Source::Channel, Source::Import, Source::Manual]
            .iter()
            .position(|s| *s == source)
            .unwrap()
    }

    /// What the rules say should become of a scalar proposal against a filled field.
    fn scalar_oracle(
        current: Source,
        lock: FieldLock,
        proposed: Source,
        surer: Surer,
        same_value: bool,
    ) -> Outcome {
        let staff_write = proposed == Source::Manual;
        let held = lock == FieldLock::Manual && current == Source::Manual;
        if staff_write {
            return if same_value && held {
                Outcome::Unchanged
            } else {
                Outcome::Applied
            };
        }
        if lock == FieldLock::Rejected {
            return Outcome::RejectedByStaff;
        }
        if lock == FieldLock::Manual {
            return Outcome::KeptManual;
        }
        let released = current == Source::Manual;
        let stronger = strength(proposed) > strength(current);
        let as_strong = strength(proposed) == strength(current);
        let wins = if released {
            true
        } else if same_value {
            stronger || (as_strong && surer == Surer::More)
        } else {
            stronger || (as_strong && surer != Surer::Less)
        };
        match (wins && !(released && same_value), same_value) {
            (true, _) => Outcome::Applied,
            (false, true) => Outcome::Unchanged,
            (false, false) => Outcome::LowerConfidence,
        }
    }

    #[test]
    fn every_scalar_combination_matches_the_oracle() {
        let mut cases = 0;
        for current in SOURCES {
            for lock in LOCKS {
                for proposed in SOURCES {
                    for surer in Surer::ALL {
                        for same_value in [true, false] {
                            let mut profile = with_city("Haifa", current, CURRENT_CONFIDENCE);
                            profile.fields.get_mut("city").unwrap().lock = lock;
                            let before = profile.clone();
                            let value = if same_value { "Haifa" } else { "Eilat" };
                            let record = profile.propose(proposal(
                                &city(),
                                value,
                                proposed,
                                surer.confidence(),
                            ));
                            let case = format!(
                                "{current} {lock} <- {proposed} {surer:?} same={same_value}"
                            );
                            let expected =
                                scalar_oracle(current, lock, proposed, surer, same_value);
                            assert_eq!(record.outcome, expected, "{case}");
                            assert_eq!(record.changed(), before != profile, "{case}");
                            let f = field(&profile, &city());
                            if record.outcome == Outcome::Applied {
                                assert_eq!(f.value.as_deref(), Some(value), "{case}");
                                assert_eq!(f.source, proposed, "{case}");
                                let previous = if same_value { None } else { Some("Haifa") };
                                assert_eq!(f.previous_value.as_deref(), previous, "{case}");
                            } else {
                                assert_eq!(profile, before, "{case}");
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 4 * 3 * 4 * 3 * 2);
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum ItemState {
        Absent,
        Shown,
        Blocked,
    }

    /// What the rules say should become of a list-item proposal of `Yoga` (spelled exactly so,
    /// or in another case).
    fn item_oracle(
        lock: FieldLock,
        state: ItemState,
        current: Source,
        proposed: Source,
        surer: Surer,
        exact_spelling: bool,
    ) -> Outcome {
        if proposed == Source::Manual {
            // Staff spelling wins, so a respelling is a change.
            let already = state == ItemState::Shown
                && current == Source::Manual
                && lock == FieldLock::Open
                && exact_spelling;
            return if already {
                Outcome::Unchanged
            } else {
                Outcome::Applied
            };
        }
        match (lock, state) {
            (FieldLock::Rejected, _) | (_, ItemState::Blocked) => Outcome::RejectedByStaff,
            (FieldLock::Manual, _) => Outcome::KeptManual,
            (FieldLock::Open, ItemState::Absent) => Outcome::Applied,
            (FieldLock::Open, ItemState::Shown) if current == Source::Manual => Outcome::KeptManual,
            (FieldLock::Open, ItemState::Shown) => {
                let stronger = strength(proposed) > strength(current);
                let as_strong = strength(proposed) == strength(current);
                if stronger || (as_strong && surer == Surer::More) {
                    Outcome::Applied
                } else {
                    Outcome::Unchanged
                }
            }
        }
    }

    /// A list holding `chess` and, unless absent, `Yoga` in `state` from `current`.
    fn list_with_yoga(lock: FieldLock, state: ItemState, current: Source) -> Profile {
        let mut profile = Profile::default();
        profile.propose(ai(&interests(), "chess", 0.5));
        let field = profile.fields.get_mut("interests").unwrap();
        if state != ItemState::Absent {
            field.items.push(ListItem {
                value: "Yoga".to_owned(),
                source: current,
                confidence: CURRENT_CONFIDENCE,
                updated_at: at(1),
                updated_by: format!("{current}:test"),
                evidence: Vec::new(),
                blocked: state == ItemState::Blocked,
            });
        }
        field.lock = lock;
        profile
    }

    #[test]
    fn every_list_item_combination_matches_the_oracle() {
        let states = [ItemState::Absent, ItemState::Shown, ItemState::Blocked];
        let mut cases = 0;
        for (lock, state, current, proposed, surer, spelling) in
            LOCKS.into_iter().flat_map(|lock| {
                states.into_iter().flat_map(move |state| {
                    SOURCES.into_iter().flat_map(move |current| {
                        SOURCES.into_iter().flat_map(move |proposed| {
                            Surer::ALL.into_iter().flat_map(move |surer| {
                                ["Yoga", "yoga"].map(|spelling| {
                                    (lock, state, current, proposed, surer, spelling)
                                })
                            })
                        })
                    })
                })
            })
        {
            let case = format!("{lock} {state:?} {current} <- {proposed} {surer:?} {spelling}");
            let mut profile = list_with_yoga(lock, state, current);
            let before = profile.clone();
            let record = profile.propose(proposal(
                &interests(),
                spelling,
                proposed,
                surer.confidence(),
            ));
            let exact = spelling == "Yoga";
            let expected = item_oracle(lock, state, current, proposed, surer, exact);
            assert_eq!(record.outcome, expected, "{case}");
            assert_eq!(record.changed(), before != profile, "{case}");
            if !record.changed() {
                assert_eq!(profile, before, "{case}");
            }
            let kept_spelling = state != ItemState::Absent && proposed != Source::Manual;
            let name = if kept_spelling { "Yoga" } else { spelling };
            assert_eq!(record.item.as_deref(), Some(name), "{case}");
            let shown_now = visible(&profile, &interests())
                .iter()
                .any(|v| same_item(v, "yoga"));
            let shown_before = state == ItemState::Shown;
            assert_eq!(
                shown_now,
                shown_before || record.outcome == Outcome::Applied,
                "{case}"
            );
            assert_eq!(visible(&profile, &interests())[0], "chess", "{case}");
            cases += 1;
        }
        assert_eq!(cases, 3 * 3 * 4 * 4 * 3 * 2);
    }

    // ---- properties over random sequences ----

    const KEYS: [&str; 3] = ["city", "interests", "loyalty_tier"];
    const VALUES: [&str; 6] = ["Haifa", "haifa", "Tel Aviv", " yoga ", "Yoga", "chess"];
    const STAFF: &str = "staff:prop";

    #[derive(Debug, Clone)]
    enum Op {
        Propose {
            key: usize,
            value: usize,
            source: Source,
            confidence: f64,
        },
        SetManual {
            key: usize,
            values: Vec<usize>,
        },
        Reject {
            key: usize,
            item: Option<usize>,
        },
        Release {
            key: usize,
        },
    }

    fn prop_key(index: usize) -> FieldKey {
        FieldKey::parse(KEYS[index], "key").unwrap()
    }

    /// Confidences on a 0.001 grid, repeated values so ties happen, and out-of-range inputs.
    /// The grid because serde_json without its `float_roundtrip` feature reads some 17-digit
    /// floats back one ULP off, which would fail the round trip for reasons outside the merge.
    fn confidence() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => prop::sample::select(vec![0.3, 0.5, 0.8, 1.0]),
            4 => (0..=1000u32).prop_map(|k| f64::from(k) / 1000.0),
            1 => prop::sample::select(vec![f64::NAN, -0.5, -0.0, 1.5, f64::INFINITY]),
        ]
    }

    fn machine_source() -> impl Strategy<Value = Source> {
        prop::sample::select(vec![Source::Ai, Source::Channel, Source::Import])
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0..KEYS.len();
        let value = 0..VALUES.len();
        prop_oneof![
            12 => (key.clone(), value.clone(), machine_source(), confidence()).prop_map(
                |(key, value, source, confidence)| Op::Propose { key, value, source, confidence }
            ),
            1 => (key.clone(), value.clone(), confidence()).prop_map(
                |(key, value, confidence)| Op::Propose { key, value, source: Source::Manual, confidence }
            ),
            2 => (key.clone(), prop::collection::vec(value.clone(), 0..3))
                .prop_map(|(key, values)| Op::SetManual { key, values }),
            2 => (key.clone(), prop::option::of(value))
                .prop_map(|(key, item)| Op::Reject { key, item }),
            1 => key.prop_map(|key| Op::Release { key }),
        ]
    }

    /// Every call uses the same time and actor, so a record claiming a change must have made a
    /// real one, not just a new timestamp.
    fn run(profile: &mut Profile, op: &Op) -> ChangeRecord {
        let at = at(0);
        match op {
            Op::Propose {
                key,
                value,
                source,
                confidence,
            } => profile.propose(Proposal {
                key: prop_key(*key),
                value: VALUES[*value].to_owned(),
                source: *source,
                confidence: *confidence,
                actor: format!("{source}:prop"),
                evidence: evidence(*value as u128),
                at,
            }),
            Op::SetManual { key, values } => profile.set_manual(ManualEdit {
                key: prop_key(*key),
                values: values.iter().map(|v| VALUES[*v].to_owned()).collect(),
                actor: STAFF.to_owned(),
                at,
            }),
            Op::Reject { key, item } => {
                profile.reject(&prop_key(*key), item.map(|i| VALUES[i]), STAFF, at)
            }
            Op::Release { key } => profile.release(&prop_key(*key), STAFF, at),
        }
    }

    fn confidences_in_range(profile: &Profile) -> bool {
        profile.fields.values().all(|f| {
            (0.0..=1.0).contains(&f.confidence)
                && f.items.iter().all(|i| (0.0..=1.0).contains(&i.confidence))
        })
    }

    fn json_round_trip(profile: &Profile) -> Profile {
        serde_json::from_str(&serde_json::to_string(profile).unwrap()).unwrap()
    }

    /// Checks everything a single step must keep true.
    fn check_step(before: &Profile, op: &Op, record: &ChangeRecord, after: &Profile) {
        let key = match op {
            Op::Propose { key, .. }
            | Op::SetManual { key, .. }
            | Op::Reject { key, .. }
            | Op::Release { key } => KEYS[*key],
        };
        // (c) one record, about this key, and it says "changed" exactly when something did.
        assert_eq!(record.key, key);
        assert_eq!(record.changed(), before != after, "{op:?} {record:?}");
        // Only the key operated on moves.
        for (other, field) in &before.fields {
            if other != key {
                assert_eq!(after.get(other), Some(field));
            }
        }
        // (f)
        assert!(confidences_in_range(after), "{after:?}");
        assert!((0.0..=1.0).contains(&record.confidence));
        // (g)
        assert_eq!(json_round_trip(after), *after);

        let Op::Propose { source, .. } = op else {
            return;
        };
        if *source == Source::Manual {
            return;
        }
        let Some(held) = before.get(key) else {
            return;
        };
        match held.lock {
            // (a) a MANUAL lock holds against machines.
            FieldLock::Manual => {
                assert_eq!(after.get(key), Some(held));
                // A blocked list item is reported as the staff rejection it is.
                assert!(matches!(
                    record.outcome,
                    Outcome::KeptManual | Outcome::RejectedByStaff
                ));
            }
            // (d) a rejected field stays empty.
            FieldLock::Rejected => {
                assert_eq!(after.get(key), Some(held));
                assert_eq!(record.outcome, Outcome::RejectedByStaff);
            }
            FieldLock::Open => {}
        }
        // (e) blocked items stay blocked.
        let now = after.get(key).unwrap();
        for blocked in held.items.iter().filter(|i| i.blocked) {
            assert!(
                now.items
                    .iter()
                    .any(|i| i.blocked && same_item(&i.value, &blocked.value)),
                "{blocked:?} resurfaced"
            );
            assert!(
                !now.visible_items()
                    .any(|i| same_item(&i.value, &blocked.value))
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_sequences_keep_every_invariant(ops in prop::collection::vec(op(), 1..40)) {
            let mut profile = Profile::default();
            for op in &ops {
                let before = profile.clone();
                let record = run(&mut profile, op);
                check_step(&before, op, &record, &profile);
                // (d) in every state these rules reach, a rejected field is empty.
                for (key, field) in &profile.fields {
                    if field.lock == FieldLock::Rejected {
                        prop_assert!(field.is_empty(), "{key}: {field:?}");
                    }
                }

                // (b) the same proposal again changes nothing.
                if let Op::Propose { .. } = op {
                    let once = profile.clone();
                    let again = run(&mut profile, op);
                    prop_assert!(!again.changed(), "{op:?} {again:?}");
                    prop_assert_eq!(&profile, &once);
                }
            }
        }

        #[test]
        fn machine_proposals_never_move_a_manual_or_rejected_field(
            staff in prop::collection::vec(op(), 0..10),
            hold in (0..KEYS.len(), prop::collection::vec(0..VALUES.len(), 1..3), any::<bool>()),
            proposals in prop::collection::vec(
                (0..VALUES.len(), machine_source(), confidence()), 1..30),
        ) {
            let mut profile = Profile::default();
            for op in &staff {
                run(&mut profile, op);
            }
            let (key, values, reject) = hold;
            let held = if reject {
                Op::Reject { key, item: None }
            } else if KEYS[key] == "interests" {
                // Lists stay open after a staff write; their hold is per item.
                Op::SetManual { key, values }
            } else {
                Op::SetManual { key, values: values[..1].to_vec() }
            };
            run(&mut profile, &held);
            let frozen = profile.get(KEYS[key]).unwrap().clone();
            let manual_items: Vec<ListItem> = frozen
                .items
                .iter()
                .filter(|i| i.source == Source::Manual)
                .cloned()
                .collect();
            for (value, source, confidence) in proposals {
                run(&mut profile, &Op::Propose { key, value, source, confidence });
            }
            let now = profile.get(KEYS[key]).unwrap();
            if frozen.lock == FieldLock::Open {
                // A list: staff items and blocked items stand; machines only add new items.
                for item in &manual_items {
                    prop_assert!(now.items.contains(item), "{item:?}");
                }
            } else {
                prop_assert_eq!(now, &frozen);
            }
        }

        #[test]
        fn every_call_on_any_stored_field_keeps_record_and_profile_in_step(
            stored in stored_field(),
            op in op(),
        ) {
            let (key, field) = stored;
            let mut profile = Profile::default();
            profile.fields.insert(KEYS[key].to_owned(), field);
            let before = profile.clone();
            let record = run(&mut profile, &op);
            check_step(&before, &op, &record, &profile);
            if let Op::Propose { .. } = op {
                let once = profile.clone();
                prop_assert!(!run(&mut profile, &op).changed());
                prop_assert_eq!(&profile, &once);
            }
        }
    }

    /// Any field state the rules could meet in storage, including ones they never produce (a
    /// MANUAL lock on a list, an AI source under a MANUAL lock).
    fn stored_field() -> impl Strategy<Value = (usize, ProfileField)> {
        let sources = || prop::sample::select(SOURCES.to_vec());
        let in_range = || (0..=1000u32).prop_map(|k| f64::from(k) / 1000.0);
        let item = (0..VALUES.len(), sources(), in_range(), any::<bool>()).prop_map(
            |(value, source, confidence, blocked)| ListItem {
                value: VALUES[value].trim().to_owned(),
                source,
                confidence,
                updated_at: at(5),
                updated_by: format!("{source}:stored"),
                evidence: Vec::new(),
                blocked,
            },
        );
        (
            0..KEYS.len(),
            prop::option::of(0..VALUES.len()),
            prop::collection::vec(item, 0..4),
            sources(),
            in_range(),
            prop::option::of(0..VALUES.len()),
            prop::sample::select(LOCKS.to_vec()),
        )
            .prop_map(|(key, value, items, source, confidence, previous, lock)| {
                let list = KEYS[key] == "interests";
                let mut unique: Vec<ListItem> = Vec::new();
                for item in items {
                    if !unique.iter().any(|u| same_item(&u.value, &item.value)) {
                        unique.push(item);
                    }
                }
                let field = ProfileField {
                    value: if list {
                        None
                    } else {
                        value.map(|v| VALUES[v].trim().to_owned())
                    },
                    items: if list { unique } else { Vec::new() },
                    source,
                    confidence,
                    updated_at: at(5),
                    updated_by: format!("{source}:stored"),
                    previous_value: previous.map(|v| VALUES[v].trim().to_owned()),
                    evidence: Vec::new(),
                    lock,
                };
                (key, field)
            })
    }

    #[test]
    fn json_round_trip_is_lossless_for_every_kind_of_field() {
        let mut profile = Profile::default();
        profile.propose(ai(&city(), "Haifa", 0.731));
        profile.propose(ai(&interests(), "yoga", 0.25));
        profile.set_manual(edit(&interests(), &["chess"]));
        profile.reject(&FieldKey::known(KnownKey::Budget), None, STAFF, at(3));
        profile.set_manual(edit(
            &FieldKey::known(KnownKey::Email),
            &["dana@example.com"],
        ));
        assert_eq!(json_round_trip(&profile), profile);
    }
}
