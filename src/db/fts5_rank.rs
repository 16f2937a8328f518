//! `memodesk_rank`: the BM25 score search ranks SQLite full-text matches by, as an FTS5
//! auxiliary function registered on every connection.
//!
//! FTS5's own `bm25()` counts, on its first row of every query, the documents that hold each
//! phrase of the query, by walking each phrase's whole list of documents. Search's query used
//! to name the tenant as a phrase of the `scope` column (a tenant is a range of rowids now),
//! and a large tenant's token was in every one of its documents: at a million messages that
//! count was most of a search's time; a common word's count costs the same. A lead search
//! still names the lead in `scope`. `memodesk_rank(search_fts, scoped)` is the same BM25
//! (k1 = 1.2, b = 0.75) over the `body` column, and:
//! - skips the first `scoped` phrases (the scope tokens), which only filter;
//! - counts a phrase's documents only when a candidate holds it (an excluded phrase, or an
//!   alternative no candidate has, is never counted);
//! - remembers each word's count for a while ([`COUNT_TTL`]): how many documents hold a word
//!   changes slowly, and BM25 takes its logarithm.
//!
//! The remembered counts ([`WordCounts`], one per database) are keyed by the words searched
//! for, which are customer data: they are forgotten after [`COUNT_TTL`], and at once when a
//! customer is erased or retention deletes ([`WordCounts::forget`]).

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::ffi;

/// The function's name in SQL.
pub const NAME: &str = "memodesk_rank";

/// How long a word's document count is used before it is counted again.
const COUNT_TTL: Duration = Duration::from_secs(300);

/// Words whose counts are remembered at most (the memory is cleared when it is full).
const COUNT_CAPACITY: usize = 20_000;

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The `body` column of `search_fts`.
const BODY: c_int = 1;

struct Count {
    documents: i64,
    at: Instant,
}

/// The word counts remembered for one database (shared by its connections).
#[derive(Clone, Default)]
pub struct WordCounts(Arc<Mutex<HashMap<String, Count>>>);

impl std::fmt::Debug for WordCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordCounts").finish_non_exhaustive()
    }
}

impl WordCounts {
    /// Forgets every remembered count (erasure and retention call it: the keys are words
    /// customers wrote).
    pub fn forget(&self) {
        if let Ok(mut counts) = self.0.lock() {
            *counts = HashMap::new();
        }
    }

    /// How many words' counts are remembered.
    pub fn len(&self) -> usize {
        self.0.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Whether no word's count is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Another handle on the counts a registration holds.
    ///
    /// # Safety
    /// `counts` came from `Arc::into_raw` in [`register`], whose registration is still live.
    unsafe fn borrowed(counts: *const Mutex<HashMap<String, Count>>) -> Self {
        // SAFETY: as the caller promises, the registration holds a strong count.
        unsafe {
            Arc::increment_strong_count(counts);
            Self(Arc::from_raw(counts))
        }
    }

    fn get(&self, key: &str) -> Option<i64> {
        let counts = self.0.lock().ok()?;
        let count = counts.get(key)?;
        (count.at.elapsed() < COUNT_TTL).then_some(count.documents)
    }

    fn put(&self, key: String, documents: i64) {
        let Ok(mut counts) = self.0.lock() else {
            return;
        };
        if counts.len() >= COUNT_CAPACITY {
            counts.clear();
        }
        counts.insert(
            key,
            Count {
                documents,
                at: Instant::now(),
            },
        );
    }
}

unsafe extern "C" fn drop_counts(data: *mut c_void) {
    // SAFETY: `data` is the `Arc` `register` leaked for this registration, released once.
    drop(unsafe { Arc::from_raw(data.cast::<Mutex<HashMap<String, Count>>>()) });
}

/// Registers `memodesk_rank` on the connection `db`, remembering word counts in `counts` (one
/// per database file).
///
/// # Safety
/// `db` must be an open connection that no other thread uses during the call.
pub unsafe fn register(db: NonNull<ffi::sqlite3>, counts: &WordCounts) -> Result<(), String> {
    // SAFETY: the caller holds `db` for the call; the statement is finalized before return,
    // and `api` is written by FTS5 through the pointer binding while the statement steps.
    unsafe {
        let mut api: *mut ffi::fts5_api = ptr::null_mut();
        let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
        let rc = ffi::sqlite3_prepare_v2(
            db.as_ptr(),
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        );
        if rc != ffi::SQLITE_OK {
            return Err(format!("cannot reach FTS5 (code {rc})"));
        }
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&mut api as *mut *mut ffi::fts5_api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        ffi::sqlite3_finalize(stmt);
        let Some(create) = api.as_ref().and_then(|a| a.xCreateFunction) else {
            return Err("this SQLite has no FTS5".into());
        };
        let user = Arc::into_raw(counts.0.clone()).cast_mut().cast::<c_void>();
        let rc = create(
            api,
            c"memodesk_rank".as_ptr(),
            user,
            Some(rank),
            Some(drop_counts),
        );
        if rc != ffi::SQLITE_OK {
            return Err(format!("cannot register {NAME} (code {rc})"));
        }
    }
    Ok(())
}

/// What one query computes once: the collection's size and average body length, and each
/// phrase's inverse document frequency (counted when first needed).
struct QueryData {
    rows: i64,
    average_length: f64,
    idf: Vec<Option<f64>>,
}

unsafe extern "C" fn drop_query_data(data: *mut c_void) {
    // SAFETY: `data` is the box `rank` leaked into the auxdata slot, dropped once by FTS5.
    drop(unsafe { Box::from_raw(data.cast::<QueryData>()) });
}

unsafe extern "C" fn count_row(
    _api: *const ffi::Fts5ExtensionApi,
    _fts: *mut ffi::Fts5Context,
    user: *mut c_void,
) -> c_int {
    // SAFETY: `user` is the `i64` counter `phrase_documents` passed.
    unsafe { *user.cast::<i64>() += 1 };
    ffi::SQLITE_OK
}

/// The phrase's words, as the key its document count is remembered under.
unsafe fn phrase_key(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    phrase: c_int,
) -> Option<String> {
    let size = api.xPhraseSize?;
    let token = api.xQueryToken?;
    let mut key = String::new();
    // SAFETY: `fts` is the live context FTS5 passed `rank`; tokens point into its query.
    unsafe {
        for i in 0..size(fts, phrase) {
            let mut text: *const std::ffi::c_char = ptr::null();
            let mut len: c_int = 0;
            if token(fts, phrase, i, &mut text, &mut len) != ffi::SQLITE_OK || text.is_null() {
                return None;
            }
            let bytes = std::slice::from_raw_parts(text.cast::<u8>(), len as usize);
            if i > 0 {
                key.push(' ');
            }
            key.push_str(std::str::from_utf8(bytes).ok()?);
        }
    }
    Some(key)
}

/// How many documents hold the phrase: remembered, or counted (and remembered).
unsafe fn phrase_documents(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    phrase: c_int,
) -> Result<i64, c_int> {
    // SAFETY: as in `phrase_key`; `count_row` only increments the counter passed to it.
    unsafe {
        let counts = api.xUserData.ok_or(ffi::SQLITE_ERROR)?(fts)
            .cast::<Mutex<HashMap<String, Count>>>()
            .cast_const();
        if counts.is_null() {
            return Err(ffi::SQLITE_ERROR);
        }
        let counts = WordCounts::borrowed(counts);
        let key = phrase_key(api, fts, phrase);
        if let Some(documents) = key.as_deref().and_then(|k| counts.get(k)) {
            return Ok(documents);
        }
        let query = api.xQueryPhrase.ok_or(ffi::SQLITE_ERROR)?;
        let mut documents: i64 = 0;
        let rc = query(
            fts,
            phrase,
            (&mut documents as *mut i64).cast::<c_void>(),
            Some(count_row),
        );
        if rc != ffi::SQLITE_OK {
            return Err(rc);
        }
        if let Some(key) = key {
            counts.put(key, documents);
        }
        Ok(documents)
    }
}

/// BM25's inverse document frequency, as FTS5 computes it (never below a small positive
/// number, so a word in most documents still counts a little).
fn idf(rows: i64, documents: i64) -> f64 {
    let (n, d) = (rows as f64, documents as f64);
    ((n - d + 0.5) / (d + 0.5)).ln().max(1e-6)
}

/// BM25 of one row; `Err` carries an SQLite result code.
unsafe fn score(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    scoped: c_int,
) -> Result<f64, c_int> {
    // SAFETY: `fts` is the live context; the auxdata slot holds only a `QueryData` this
    // function put there, freed by `drop_query_data`.
    unsafe {
        let phrases = api.xPhraseCount.ok_or(ffi::SQLITE_ERROR)?(fts);
        let get = api.xGetAuxdata.ok_or(ffi::SQLITE_ERROR)?;
        let mut data = get(fts, 0).cast::<QueryData>();
        if data.is_null() {
            let mut rows: i64 = 0;
            let mut tokens: i64 = 0;
            check(api.xRowCount.ok_or(ffi::SQLITE_ERROR)?(fts, &mut rows))?;
            check(api.xColumnTotalSize.ok_or(ffi::SQLITE_ERROR)?(
                fts,
                BODY,
                &mut tokens,
            ))?;
            let boxed = Box::new(QueryData {
                rows,
                average_length: if rows > 0 {
                    tokens as f64 / rows as f64
                } else {
                    1.0
                },
                idf: vec![None; phrases.max(0) as usize],
            });
            data = Box::into_raw(boxed);
            check(api.xSetAuxdata.ok_or(ffi::SQLITE_ERROR)?(
                fts,
                data.cast::<c_void>(),
                Some(drop_query_data),
            ))?;
        }
        let data = &mut *data;
        let mut frequencies = vec![0u32; phrases.max(0) as usize];
        let mut instances: c_int = 0;
        check(api.xInstCount.ok_or(ffi::SQLITE_ERROR)?(
            fts,
            &mut instances,
        ))?;
        let inst = api.xInst.ok_or(ffi::SQLITE_ERROR)?;
        for i in 0..instances {
            let (mut phrase, mut column, mut offset) = (0, 0, 0);
            check(inst(fts, i, &mut phrase, &mut column, &mut offset))?;
            if column == BODY && phrase >= scoped && phrase < phrases {
                frequencies[phrase as usize] += 1;
            }
        }
        let mut length: c_int = 0;
        check(api.xColumnSize.ok_or(ffi::SQLITE_ERROR)?(
            fts,
            BODY,
            &mut length,
        ))?;
        let norm = K1 * (1.0 - B + B * f64::from(length) / data.average_length.max(1e-9));
        let mut score = 0.0;
        for (phrase, &tf) in frequencies.iter().enumerate() {
            if tf == 0 {
                continue;
            }
            let idf = match data.idf[phrase] {
                Some(idf) => idf,
                None => {
                    let documents = phrase_documents(api, fts, phrase as c_int)?;
                    let idf = idf(data.rows, documents);
                    data.idf[phrase] = Some(idf);
                    idf
                }
            };
            let tf = f64::from(tf);
            score += idf * tf * (K1 + 1.0) / (tf + norm);
        }
        Ok(score)
    }
}

fn check(rc: c_int) -> Result<(), c_int> {
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rc)
    }
}

/// The auxiliary function: `memodesk_rank(search_fts, scoped)`, higher is better.
unsafe extern "C" fn rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    args: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 passes a valid API table, context and `args` values for the call.
    unsafe {
        let scoped = if args >= 1 {
            ffi::sqlite3_value_int(*values)
        } else {
            0
        };
        let Some(api) = api.as_ref() else {
            ffi::sqlite3_result_error_code(ctx, ffi::SQLITE_ERROR);
            return;
        };
        match score(api, fts, scoped) {
            Ok(score) => ffi::sqlite3_result_double(ctx, score),
            Err(rc) => ffi::sqlite3_result_error_code(ctx, rc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(counts: &WordCounts) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        // SAFETY: the connection is open and used by this thread only.
        unsafe { register(NonNull::new(conn.handle()).unwrap(), counts) }.unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE search_fts USING fts5(scope, body, content='', \
             contentless_delete=1, tokenize='unicode61 remove_diacritics 0');",
        )
        .unwrap();
        conn
    }

    fn ranked(conn: &rusqlite::Connection, query: &str, scoped: i32) -> Vec<(i64, f64)> {
        let mut stmt = conn
            .prepare(
                "SELECT rowid, memodesk_rank(search_fts, ?2) AS score FROM search_fts \
                 WHERE search_fts MATCH ?1 ORDER BY score DESC, rowid",
            )
            .unwrap();
        stmt.query_map(rusqlite::params![query, scoped], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn ranks_like_fts5_bm25_on_the_body_when_nothing_is_scoped() {
        let conn = connection(&WordCounts::default());
        for (rowid, body) in [
            (1, "refund refund please"),
            (2, "refund for the blue shoes that did not fit at all"),
            (3, "where is my parcel"),
            (4, "parcel arrived thanks"),
            (5, "hello"),
            (6, "thanks for everything"),
        ] {
            conn.execute(
                "INSERT INTO search_fts (rowid, scope, body) VALUES (?1, 't1', ?2)",
                rusqlite::params![rowid, body],
            )
            .unwrap();
        }
        let ours = ranked(&conn, "body : (refund OR parcel)", 0);
        let mut stmt = conn
            .prepare(
                "SELECT rowid, -bm25(search_fts, 0.0, 1.0) AS score FROM search_fts \
                 WHERE search_fts MATCH 'body : (refund OR parcel)' ORDER BY score DESC, rowid",
            )
            .unwrap();
        let theirs: Vec<(i64, f64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            ours.iter().map(|r| r.0).collect::<Vec<_>>(),
            theirs.iter().map(|r| r.0).collect::<Vec<_>>()
        );
        assert_eq!(
            ours[0].0, 1,
            "twice the word in a short message ranks first"
        );
    }

    #[test]
    fn scope_phrases_filter_but_do_not_score() {
        let conn = connection(&WordCounts::default());
        for (rowid, scope, body) in [(1, "tenanta", "hello there"), (2, "tenantb", "hello")] {
            conn.execute(
                "INSERT INTO search_fts (rowid, scope, body) VALUES (?1, ?2, ?3)",
                rusqlite::params![rowid, scope, body],
            )
            .unwrap();
        }
        let rows = ranked(&conn, "scope : tenanta AND body : hello", 1);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 1);
        assert!(rows[0].1 > 0.0);
        // Without the word the scope alone scores nothing.
        assert_eq!(ranked(&conn, "scope : tenanta", 1)[0].1, 0.0);
    }

    #[test]
    fn forgotten_counts_are_counted_again() {
        let counts = WordCounts::default();
        let conn = connection(&counts);
        conn.execute_batch(
            "INSERT INTO search_fts (rowid, scope, body) VALUES (1, 't', 'alpha beta'); \
             INSERT INTO search_fts (rowid, scope, body) VALUES (2, 't', 'gamma');",
        )
        .unwrap();
        ranked(&conn, "body : alpha", 0);
        assert_eq!(counts.get("alpha"), Some(1));
        counts.forget();
        assert_eq!(counts.get("alpha"), None);
        // The registration keeps its handle until the connection closes.
        drop(conn);
        assert_eq!(Arc::strong_count(&counts.0), 1);
    }
}
