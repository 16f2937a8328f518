//! The staff dashboard: static files compiled into the binary, so the server needs no files
//! beside it. `app.js` is the entry module; the screens are ES modules under `/js/`.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../web/index.html");
const APP: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/style.css");

/// What `/js/{name}` serves: the dashboard's modules.
const MODULES: &[(&str, &str)] = &[
    ("admin.js", include_str!("../../web/js/admin.js")),
    ("api.js", include_str!("../../web/js/api.js")),
    ("audit.js", include_str!("../../web/js/audit.js")),
    ("client.js", include_str!("../../web/js/client.js")),
    (
        "conversation.js",
        include_str!("../../web/js/conversation.js"),
    ),
    ("dom.js", include_str!("../../web/js/dom.js")),
    ("exports.js", include_str!("../../web/js/exports.js")),
    ("lead.js", include_str!("../../web/js/lead.js")),
    ("leads.js", include_str!("../../web/js/leads.js")),
    ("memory.js", include_str!("../../web/js/memory.js")),
    ("palette.js", include_str!("../../web/js/palette.js")),
    ("privacy.js", include_str!("../../web/js/privacy.js")),
    ("router.js", include_str!("../../web/js/router.js")),
    ("search.js", include_str!("../../web/js/search.js")),
    ("session.js", include_str!("../../web/js/session.js")),
    ("state.js", include_str!("../../web/js/state.js")),
    ("webhooks.js", include_str!("../../web/js/webhooks.js")),
];

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Scripts, styles and connections from this origin only (the API and its WebSocket); no
/// inline script or style, no plugins, no framing, forms post nowhere (they are handled in
/// script).
const CSP: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; \
                   style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// Debug builds only: `MEMODESK_WEB_DIR=web` serves the dashboard's files from that folder, so
/// a change to them needs no rebuild. Release builds always serve the compiled-in copy.
fn from_disk(path: &str) -> Option<String> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let dir = std::env::var_os("MEMODESK_WEB_DIR")?;
    std::fs::read_to_string(std::path::Path::new(&dir).join(path)).ok()
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    respond(body.into(), content_type)
}

fn respond(body: std::borrow::Cow<'static, str>, content_type: &'static str) -> Response {
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
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A file of the dashboard: `path` under web/, or `body` as compiled in.
fn file(path: &str, body: &'static str, content_type: &'static str) -> Response {
    match from_disk(path) {
        Some(text) => respond(text.into(), content_type),
        None => asset(body, content_type),
    }
}

pub async fn index() -> Response {
    file("index.html", INDEX, "text/html; charset=utf-8")
}

pub async fn app_js() -> Response {
    file("app.js", APP, JAVASCRIPT)
}

pub async fn style_css() -> Response {
    file("style.css", STYLE, "text/css; charset=utf-8")
}

/// One of the dashboard's modules.
pub async fn module(Path(name): Path<String>) -> Response {
    match MODULES.iter().find(|(n, _)| *n == name) {
        Some((name, body)) => file(&format!("js/{name}"), body, JAVASCRIPT),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
