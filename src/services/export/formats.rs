//! The export shapes. Each writes a header once, then pages of leads, then deletion markers.
//!
//! - `csv`: our column names, RFC 4180 (CRLF, quotes doubled), UTF-8 with an optional BOM for
//!   Excel; cells that a spreadsheet would run as a formula (starting `= + - @`, tab or CR) are
//!   prefixed with `'`. Erased leads are rows with only `memodesk_id` and `deleted=true`.
//! - `hubspot`: JSON lines; contacts as CRM v3 batch-upsert inputs keyed by `memodesk_id`,
//!   notes for summaries, and GDPR-delete requests (by `memodesk_id`) for erased leads.
//! - `salesforce`: Bulk API 2.0 upsert CSV (CRLF line ending) for `Lead` by `Memodesk_Id__c`,
//!   `Task` for summaries, or the erased leads' ids; `#N/A` clears a field.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::record::LeadRecord;
use super::{Format, SalesforceObject};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Start the CSV with a UTF-8 byte order mark (Excel reads UTF-8 only then).
    pub bom: bool,
    /// Add a `<field>_source` column per profile field (CSV only).
    pub provenance: bool,
}

/// The `csv` format's columns, in order.
pub const CSV_COLUMNS: [&str; 22] = [
    "memodesk_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "city",
    "first_channel",
    "last_channel",
    "last_activity_at",
    "preferred_currency",
    "interests",
    "service_interest",
    "preferences",
    "budget",
    "other_fields",
    "last_summary",
    "last_summary_at",
    "next_step",
    "created_at",
    "updated_at",
    "deleted",
];

/// With `provenance=true`, these follow [`CSV_COLUMNS`]: `<column>_source` for each profile
/// field, from the profile key below.
const PROVENANCE: [(&str, &str); 10] = [
    ("name_source", "name"),
    ("email_source", "email"),
    ("phone_source", "phone"),
    ("language_source", "preferred_language"),
    ("city_source", "city"),
    ("preferred_currency_source", "preferred_currency"),
    ("interests_source", "interests"),
    ("service_interest_source", "service_interest"),
    ("preferences_source", "preferences"),
    ("budget_source", "budget"),
];

/// The Salesforce `Lead` file's columns (API names).
pub const SALESFORCE_LEAD_COLUMNS: [&str; 14] = [
    "Memodesk_Id__c",
    "FirstName",
    "LastName",
    "Company",
    "Email",
    "Phone",
    "MobilePhone",
    "City",
    "Description",
    "Memodesk_Language__c",
    "Memodesk_First_Channel__c",
    "Memodesk_Last_Channel__c",
    "Memodesk_Last_Activity__c",
    "Memodesk_Next_Step__c",
];

/// The Salesforce `Task` file's columns; `Lead:Who.Memodesk_Id__c` relates the task to the lead
/// by our id (the polymorphic `Who` relationship, resolved to a Lead).
pub const SALESFORCE_TASK_COLUMNS: [&str; 7] = [
    "Memodesk_Summary_Id__c",
    "Lead:Who.Memodesk_Id__c",
    "Subject",
    "Description",
    "ActivityDate",
    "Status",
    "Priority",
];

/// Salesforce's value for "clear this field" in Bulk API CSV.
const SF_CLEAR: &str = "#N/A";
/// Salesforce requires `LastName` and `Company` on a Lead; this is its own placeholder.
const SF_NOT_PROVIDED: &str = "[not provided]";

pub struct Writer {
    format: Format,
    options: Options,
}

impl Writer {
    pub fn new(format: Format, options: Options) -> Self {
        Self { format, options }
    }

    pub fn header(&mut self) -> AppResult<Vec<u8>> {
        let mut out = Vec::new();
        let columns: Vec<&str> = match self.format {
            Format::Hubspot => return Ok(out),
            Format::Csv => {
                if self.options.bom {
                    out.extend_from_slice("\u{feff}".as_bytes());
                }
                let mut columns = CSV_COLUMNS.to_vec();
                if self.options.provenance {
                    columns.extend(PROVENANCE.iter().map(|(c, _)| *c));
                }
                columns
            }
            Format::Salesforce(SalesforceObject::Lead) => SALESFORCE_LEAD_COLUMNS.to_vec(),
            Format::Salesforce(SalesforceObject::Task) => SALESFORCE_TASK_COLUMNS.to_vec(),
            Format::Salesforce(SalesforceObject::Erased) => vec!["Memodesk_Id__c"],
        };
        write_rows(&mut out, [columns.into_iter().map(str::to_owned).collect()])?;
        Ok(out)
    }

    pub fn leads(&mut self, records: &[LeadRecord]) -> AppResult<Vec<u8>> {
        let mut out = Vec::new();
        match self.format {
            Format::Csv => {
                let rows = records.iter().map(|r| self.csv_row(r));
                write_rows(&mut out, rows)?;
            }
            Format::Hubspot => {
                for record in records {
                    push_line(&mut out, &hubspot_contact(record))?;
                    if let Some(note) = hubspot_note(record) {
                        push_line(&mut out, &note)?;
                    }
                }
            }
            Format::Salesforce(SalesforceObject::Lead) => {
                write_rows(&mut out, records.iter().map(salesforce_lead))?;
            }
            Format::Salesforce(SalesforceObject::Task) => {
                write_rows(&mut out, records.iter().filter_map(salesforce_task))?;
            }
            Format::Salesforce(SalesforceObject::Erased) => {}
        }
        Ok(out)
    }

    /// Deletion markers for erased leads.
    pub fn erased(&mut self, ids: &[Uuid]) -> AppResult<Vec<u8>> {
        let mut out = Vec::new();
        match self.format {
            Format::Csv => {
                let width = CSV_COLUMNS.len()
                    + if self.options.provenance {
                        PROVENANCE.len()
                    } else {
                        0
                    };
                let rows = ids.iter().map(|id| {
                    let mut row = vec![String::new(); width];
                    row[0] = id.to_string();
                    row[CSV_COLUMNS.len() - 1] = "true".into();
                    row
                });
                write_rows(&mut out, rows)?;
            }
            Format::Hubspot => {
                for id in ids {
                    // `POST /crm/v3/objects/contacts/gdpr-delete` takes `{objectId, idProperty}`:
                    // the contact is found by our id (batch archive takes HubSpot ids only).
                    push_line(
                        &mut out,
                        &json!({ "objectType": "contacts", "action": "gdpr-delete",
                                 "objectId": id.to_string(), "idProperty": "memodesk_id" }),
                    )?;
                }
            }
            Format::Salesforce(SalesforceObject::Erased) => {
                write_rows(&mut out, ids.iter().map(|id| vec![id.to_string()]))?;
            }
            // Upsert files cannot delete: erased leads come with `object=erased`.
            Format::Salesforce(_) => {}
        }
        Ok(out)
    }

    fn csv_row(&self, r: &LeadRecord) -> Vec<String> {
        let (first, last) = r.first_and_last_name();
        let summary = r.summary.as_ref();
        let mut row: Vec<String> = [
            Some(r.id().to_string()),
            first,
            last,
            r.email(),
            r.phone(),
            r.language(),
            r.field("city"),
            r.first_channel.map(|c| c.as_str().to_owned()),
            r.lead.last_channel.map(|c| c.as_str().to_owned()),
            Some(iso(r.last_activity())),
            r.field("preferred_currency"),
            r.field("interests"),
            r.field("service_interest"),
            r.field("preferences"),
            r.field("budget"),
            r.other_fields(),
            r.lead.last_summary.clone(),
            r.lead.summary_updated_at.map(iso),
            summary.and_then(|s| s.next_step.clone()),
            Some(iso(r.lead.created_at)),
            Some(iso(r.lead.updated_at)),
            Some("false".into()),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, cell)| {
            let cell = cell.unwrap_or_default();
            // A validated E.164 number (`+` and digits) is data, not a formula.
            if CSV_COLUMNS[i] == "phone" && is_e164(&cell) {
                cell
            } else {
                neutralise(cell)
            }
        })
        .collect();
        if self.options.provenance {
            row.extend(
                PROVENANCE
                    .iter()
                    .map(|(_, key)| r.source(key).unwrap_or_default().to_owned()),
            );
        }
        row
    }
}

fn write_rows<I>(out: &mut Vec<u8>, rows: I) -> AppResult<()>
where
    I: IntoIterator<Item = Vec<String>>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    for row in rows {
        writer.write_record(&row).map_err(AppError::internal)?;
    }
    writer.flush().map_err(AppError::internal)?;
    Ok(())
}

fn push_line(out: &mut Vec<u8>, value: &Value) -> AppResult<()> {
    serde_json::to_writer(&mut *out, value).map_err(AppError::internal)?;
    out.push(b'\n');
    Ok(())
}

/// Spreadsheets run a cell starting with `=`, `+`, `-`, `@` (or tab/CR before one) as a
/// formula; a leading `'` makes it text (OWASP's advice for CSV injection).
fn neutralise(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

fn is_e164(cell: &str) -> bool {
    cell.strip_prefix('+')
        .is_some_and(|d| (6..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// RFC 3339 in UTC with milliseconds: `2026-12-06T20:46:49.000Z` (also Salesforce's dateTime).
fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn hubspot_contact(r: &LeadRecord) -> Value {
    let (first, last) = r.first_and_last_name();
    let text = |v: Option<String>| Value::String(v.unwrap_or_default());
    let mut properties = serde_json::Map::new();
    let mut set = |key: &str, value: Value| {
        properties.insert(key.to_owned(), value);
    };
    set("memodesk_id", r.id().to_string().into());
    set("firstname", text(first));
    set("lastname", text(last));
    set("email", text(r.email()));
    set("phone", text(r.phone()));
    // WhatsApp numbers are mobiles.
    set("mobilephone", text(r.phone().filter(|_| r.on_whatsapp)));
    set("city", text(r.field("city")));
    set("company", text(r.company()));
    set("hs_language", text(r.language()));
    set(
        "memodesk_first_channel",
        text(r.first_channel.map(|c| c.as_str().to_owned())),
    );
    set(
        "memodesk_last_channel",
        text(r.lead.last_channel.map(|c| c.as_str().to_owned())),
    );
    set("memodesk_last_activity", iso(r.last_activity()).into());
    set("memodesk_last_summary", text(r.lead.last_summary.clone()));
    set(
        "memodesk_next_step",
        text(r.summary.as_ref().and_then(|s| s.next_step.clone())),
    );
    json!({
        "objectType": "contacts",
        "idProperty": "memodesk_id",
        "id": r.id().to_string(),
        "properties": properties,
    })
}

/// HubSpot's association type id for "note to contact".
const HUBSPOT_NOTE_TO_CONTACT: u32 = 202;

fn hubspot_note(r: &LeadRecord) -> Option<Value> {
    let summary = r.summary.as_ref()?;
    let mut body = summary.summary.clone();
    if let Some(step) = &summary.next_step {
        body.push_str("\n\nNext step: ");
        body.push_str(step);
    }
    Some(json!({
        "objectType": "notes",
        "id": summary.id.to_string(),
        "memodesk_id": r.id().to_string(),
        "properties": {
            "hs_note_body": body,
            "hs_timestamp": iso(summary.created_at),
        },
        "associations": [{
            "to": { "memodesk_id": r.id().to_string() },
            "types": [{ "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": HUBSPOT_NOTE_TO_CONTACT }],
        }],
    }))
}

fn salesforce_lead(r: &LeadRecord) -> Vec<String> {
    let (first, last) = r.first_and_last_name();
    // A one-word name is the last name (required); the first name is then cleared.
    let (first, last) = match (first, last) {
        (Some(first), None) => (None, Some(first)),
        other => other,
    };
    let or_clear = |v: Option<String>| v.unwrap_or_else(|| SF_CLEAR.to_owned());
    vec![
        r.id().to_string(),
        or_clear(first),
        last.unwrap_or_else(|| SF_NOT_PROVIDED.to_owned()),
        r.company().unwrap_or_else(|| SF_NOT_PROVIDED.to_owned()),
        or_clear(r.email()),
        or_clear(r.phone()),
        or_clear(r.phone().filter(|_| r.on_whatsapp)),
        or_clear(r.field("city")),
        or_clear(r.lead.last_summary.clone()),
        or_clear(r.language()),
        or_clear(r.first_channel.map(|c| c.as_str().to_owned())),
        or_clear(r.lead.last_channel.map(|c| c.as_str().to_owned())),
        iso(r.last_activity()),
        or_clear(r.summary.as_ref().and_then(|s| s.next_step.clone())),
    ]
}

fn salesforce_task(r: &LeadRecord) -> Option<Vec<String>> {
    let summary = r.summary.as_ref()?;
    let mut description = summary.summary.clone();
    if let Some(step) = &summary.next_step {
        description.push_str("\n\nNext step: ");
        description.push_str(step);
    }
    Some(vec![
        summary.id.to_string(),
        r.id().to_string(),
        format!("Conversation summary ({})", summary.channel.as_str()),
        description,
        // Salesforce's date format.
        summary.created_at.format("%Y-%m-%d").to_string(),
        "Completed".into(),
        "Normal".into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_phone_numbers_are_not() {
        assert_eq!(neutralise("=1+1".into()), "'=1+1");
        assert_eq!(neutralise("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(neutralise("-3".into()), "'-3");
        assert_eq!(neutralise("Dana".into()), "Dana");
        assert!(is_e164("+972501234567"));
        assert!(!is_e164("+1+1"));
        assert!(!is_e164("=cmd"));
    }
}
