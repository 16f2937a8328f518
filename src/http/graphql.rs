//! GraphQL over HTTP: POST for everything, GET for queries (and GraphiQL in a browser).

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Request, Response as GqlResponse, ServerError};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lru::LruCache;
use serde::{Deserialize, Serialize};

use super::{Client, HttpState, credential};
use crate::error::AppError;
use crate::graphql::context::ClientAddr;
use crate::graphql::loaders::Loaders;
use crate::services::auth;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

pub async fn post_handler(
    State(state): State<HttpState>,
    client: Client,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !is_json(&headers) {
        return request_error(
            &headers,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as `Content-Type: application/json`",
        );
    }
    // Parsed here rather than by an extractor so that a body that is not a GraphQL request
    // gets a GraphQL error with a code, not a bare 400.
    let mut request = match serde_json::from_slice::<Request>(&body) {
        Ok(request) => request,
        Err(err) => {
            let why = match err.classify() {
                serde_json::error::Category::Data => {
                    "it lacks a string `query` or has mistyped fields"
                }
                _ => "it is not valid JSON",
            };
            return request_error(
                &headers,
                StatusCode::BAD_REQUEST,
                &format!(
                    "the body is not a GraphQL request: {why} (send {{\"query\": \"…\", \"variables\": {{…}}}})"
                ),
            );
        }
    };
    // `query` defaults to "" when absent: a body without one is malformed, not an empty document.
    if request.query.is_empty() && !has_query_member(&body) {
        return request_error(
            &headers,
            StatusCode::BAD_REQUEST,
            "the body is not a GraphQL request: it has no `query` (send {\"query\": \"…\", \"variables\": {…}})",
        );
    }
    state.documents.prepare(&mut request);
    execute(&state, &headers, client, request).await
}

/// Whether the request body is declared as JSON, the one media type GraphQL over HTTP requires
/// (a `charset`, if named, must be UTF-8). A POST without a content type is refused rather than
/// guessed at, as the spec asks.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|parameter| match parameter.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            _ => true,
        })
}

/// Whether a JSON body that deserialized as a request names a `query` at all.
fn has_query_member(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
        .is_ok_and(|object| object.contains_key("query"))
}

pub async fn get_handler(
    State(state): State<HttpState>,
    client: Client,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let has_query = url_has_param(&query, "query");
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !has_query {
        if wants_html {
            return super::graphiql::page();
        }
        return request_error(
            &headers,
            StatusCode::BAD_REQUEST,
            "pass the query as ?query=… (or POST it)",
        );
    }
    let mut request = match get_request(&query) {
        Ok(request) => request,
        Err(why) => return request_error(&headers, StatusCode::BAD_REQUEST, &why),
    };
    state.documents.prepare(&mut request);
    if is_mutation(&mut request) {
        let mut response = request_error(
            &headers,
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, client, request).await
}

/// The parameters of a GraphQL GET request, named as GraphQL over HTTP names them
/// (`async_graphql::http::parse_query_string` reads `operation_name` instead, so a document
/// with several operations could not be run over GET).
#[derive(Deserialize)]
struct GetParams {
    #[serde(default)]
    query: String,
    #[serde(rename = "operationName", alias = "operation_name")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// The request a GET query string asks for, or why it is malformed.
fn get_request(query_string: &str) -> Result<Request, String> {
    let params: GetParams = serde_urlencoded::from_str(query_string)
        .map_err(|err| format!("bad query string: {err}"))?;
    let mut body = serde_json::json!({ "query": params.query });
    if let Some(name) = params.operation_name.filter(|n| !n.is_empty()) {
        body["operationName"] = name.into();
    }
    for (name, text) in [
        ("variables", params.variables),
        ("extensions", params.extensions),
    ] {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(object @ serde_json::Value::Object(_)) => body[name] = object,
            Ok(_) => return Err(format!("`{name}` must be a JSON object")),
            Err(err) => return Err(format!("`{name}` is not valid JSON: {err}")),
        }
    }
    serde_json::from_value(body).map_err(|err| format!("bad query string: {err}"))
}

fn url_has_param(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

/// Whether the operation the request selects is a mutation (unparsable documents are left to
/// the executor, which reports them properly). Reads the document the request carries (see
/// [`DocumentCache::prepare`]), parsing it only when it has none, and keeps that parse for the
/// executor.
fn is_mutation(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match &operation_name {
            Some(name) => ops
                .get(name.as_str())
                .is_some_and(|op| op.node.ty == OperationType::Mutation),
            None => ops.values().any(|op| op.node.ty == OperationType::Mutation),
        },
    }
}

/// Parsed documents by query text. Agents and the dashboard send a handful of distinct queries
/// over and over; reusing the parse skips the parser (validation still runs per request).
pub struct DocumentCache(Mutex<LruCache<String, ExecutableDocument>>);

impl DocumentCache {
    /// Distinct queries kept.
    const CAPACITY: usize = 512;
    /// Longer query texts are parsed each time rather than kept.
    const MAX_QUERY_BYTES: usize = 16 * 1024;

    pub fn new() -> Self {
        Self(Mutex::new(LruCache::new(
            NonZeroUsize::new(Self::CAPACITY).unwrap_or(NonZeroUsize::MIN),
        )))
    }

    /// Gives `request` its parsed document, from the cache or parsed now. A query that does
    /// not parse is left to the executor, which reports the error.
    fn prepare(&self, request: &mut Request) {
        if request.query.len() > Self::MAX_QUERY_BYTES {
            return;
        }
        if let Some(document) = self
            .0
            .lock()
            .ok()
            .and_then(|mut cache| cache.get(&request.query).cloned())
        {
            request.set_parsed_query(document);
            return;
        }
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
            return;
        };
        if let Ok(mut cache) = self.0.lock() {
            cache.put(request.query.clone(), document.clone());
        }
        request.set_parsed_query(document);
    }
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `request`, whose document the caller has looked up (`DocumentCache::prepare`).
async fn execute(
    state: &HttpState,
    headers: &HeaderMap,
    client: Client,
    mut request: Request,
) -> Response {
    let actor = match auth::authenticate(&state.app, credential(headers)).await {
        Ok(actor) => actor,
        Err(err) => return app_error(headers, err),
    };
    if let Some(actor) = actor {
        request = request
            .data(Loaders::new(&state.app.db, actor.tenant_id))
            .data(actor);
    }
    let response = state
        .schema
        .execute(request.data(ClientAddr(client.0)))
        .await;
    respond(headers, response)
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(GRAPHQL_RESPONSE))
}

/// Serializes a GraphQL response in the media type the client asked for.
///
/// A request that never executed (syntax, validation, variables, limits, a malformed body) has
/// no `data` entry at all, as the GraphQL spec asks; with `application/graphql-response+json`
/// it is also a 400, as GraphQL over HTTP asks. Once execution began, `data` is there (null
/// when a non-null root field failed) and the status is 200.
fn respond(headers: &HeaderMap, response: GqlResponse) -> Response {
    let graphql_response = wants_graphql_response(headers);
    let never_executed = never_executed(&response);
    let status = if graphql_response && never_executed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let content_type = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    let body = if never_executed {
        serde_json::to_vec(&RequestErrors {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_vec(&response)
    };
    let retry_after = retry_after(&response.errors);
    match body {
        Ok(body) => {
            let mut http = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(seconds) = retry_after {
                http.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            http
        }
        Err(err) => {
            tracing::error!(error = %err, "could not serialize a GraphQL response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The longest wait any `RATE_LIMITED` error asks for, for the `Retry-After` header.
fn retry_after(errors: &[ServerError]) -> Option<u64> {
    errors
        .iter()
        .filter_map(|error| {
            let extensions = error.extensions.as_ref()?;
            let limited = matches!(
                extensions.get("code"),
                Some(async_graphql::Value::String(code)) if code == "RATE_LIMITED"
            );
            match extensions.get("retryAfterSeconds")? {
                async_graphql::Value::Number(n) if limited => n.as_u64(),
                _ => None,
            }
        })
        .max()
}

/// Whether the response is a request error: no data and only errors that no field raised.
/// Every error raised while executing carries the path of its field; an error before
/// execution (parse, validation, variable coercion, limits) has none.
fn never_executed(response: &GqlResponse) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// A response without a `data` entry.
#[derive(Serialize)]
struct RequestErrors<'a> {
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// A GraphQL-shaped error for failures before execution (bad credentials).
fn app_error(headers: &HeaderMap, err: AppError) -> Response {
    let status = match &err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let error: async_graphql::Error = err.into();
    let mut server_error = ServerError::new(error.message, None);
    server_error.extensions = error.extensions;
    let mut response = respond(headers, GqlResponse::from_errors(vec![server_error]));
    *response.status_mut() = status;
    response
}

fn request_error(headers: &HeaderMap, status: StatusCode, message: &str) -> Response {
    let mut error = ServerError::new(message, None);
    error.extensions = Some({
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "BAD_USER_INPUT");
        ext
    });
    let mut response = respond(headers, GqlResponse::from_errors(vec![error]));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(cache: &DocumentCache) -> usize {
        cache.0.lock().map(|c| c.len()).unwrap_or(0)
    }

    #[test]
    fn documents_are_parsed_once_per_query_text() {
        let cache = DocumentCache::new();
        let mut first = Request::new("{ __typename }");
        cache.prepare(&mut first);
        assert_eq!(cached(&cache), 1);
        let mut again = Request::new("{ __typename }");
        cache.prepare(&mut again);
        assert_eq!(cached(&cache), 1);
        assert_eq!(
            again.parsed_query().unwrap().operations.iter().count(),
            first.parsed_query().unwrap().operations.iter().count()
        );

        // A query that does not parse is left to the executor and not kept.
        let mut broken = Request::new("{ leads(first: ");
        cache.prepare(&mut broken);
        assert_eq!(cached(&cache), 1);
        assert!(broken.parsed_query().is_err());

        // Over-long texts are not kept either.
        let long = format!(
            "{{ __typename }} # {}",
            "x".repeat(DocumentCache::MAX_QUERY_BYTES)
        );
        cache.prepare(&mut Request::new(long));
        assert_eq!(cached(&cache), 1);
    }

    #[test]
    fn get_query_strings_read_as_graphql_over_http_names_them() {
        let request = get_request(
            "query=query%20Q%20%7B%20__typename%20%7D&operationName=Q&variables=%7B%22a%22%3A1%7D",
        )
        .unwrap();
        assert_eq!(request.query, "query Q { __typename }");
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            request.variables.into_value().into_json().unwrap(),
            serde_json::json!({ "a": 1 })
        );
        // async-graphql's own spelling still works; empty parameters mean none.
        let request = get_request("query=%7Bx%7D&operation_name=Q&variables=&operationName_x=1");
        assert_eq!(request.unwrap().operation_name.as_deref(), Some("Q"));
        let request = get_request("query=%7Bx%7D&operationName=&extensions=").unwrap();
        assert_eq!(request.operation_name, None);

        for (query_string, why) in [
            ("query=a&query=b", "duplicate field `query`"),
            (
                "query=a&extensions=%5B%5D",
                "`extensions` must be a JSON object",
            ),
            ("query=a&variables=nope", "`variables` is not valid JSON"),
        ] {
            let err = get_request(query_string).unwrap_err();
            assert!(err.contains(why), "{query_string}: {err}");
        }
    }
}
