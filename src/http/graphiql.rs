//! GraphiQL from the binary: our page and its start script (`web/graphiql/`) and the vendored
//! GraphiQL and React builds (`web/vendor/graphiql/`), so it works offline and under a CSP that
//! allows scripts from this origin only.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const PAGE: &str = include_str!("../../web/graphiql/index.html");

/// What `/graphiql/{name}` serves.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "start.js",
        include_str!("../../web/graphiql/start.js"),
        JAVASCRIPT,
    ),
    ("page.css", include_str!("../../web/graphiql/page.css"), CSS),
    (
        "graphiql.min.js",
        include_str!("../../web/vendor/graphiql/graphiql.min.js"),
        JAVASCRIPT,
    ),
    (
        "graphiql.min.css",
        include_str!("../../web/vendor/graphiql/graphiql.min.css"),
        CSS,
    ),
    (
        "react.production.min.js",
        include_str!("../../web/vendor/graphiql/react.production.min.js"),
        JAVASCRIPT,
    ),
    (
        "react-dom.production.min.js",
        include_str!("../../web/vendor/graphiql/react-dom.production.min.js"),
        JAVASCRIPT,
    ),
];

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Scripts and styles from this origin only; GraphiQL's stylesheet embeds its fonts and icons
/// as data URLs.
const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; \
                   font-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The GraphiQL page (`GET /graphql` from a browser).
pub fn page() -> Response {
    respond(PAGE, "text/html; charset=utf-8")
}

/// One of GraphiQL's files. They change only with the binary, so browsers revalidate them
/// (`no-cache`) against a hash of their content and download the megabyte only after an upgrade.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, body, content_type) = ASSETS[index];
    let etag = &etags()[index];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    if unchanged {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        set_etag(&mut response, etag);
        return response;
    }
    let mut response = respond(body, content_type);
    set_etag(&mut response, etag);
    response
}

/// Each asset's entity tag, computed on first use.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, body, _)| {
                let digest = Sha256::digest(body.as_bytes());
                let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
                format!("\"{hex}\"")
            })
            .collect()
    })
}

fn set_etag(response: &mut Response, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

fn respond(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
