//! GraphQL over HTTP: POST for everything, GET for queries (and GraphiQL in a browser).

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Request, Response as GqlResponse, ServerError};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::{HttpState, credential};
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::services::auth;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

pub async fn post_handler(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // Parsed here rather than by an extractor so that a body that is not a GraphQL request
    // gets a GraphQL error with a code, not a bare 400.
    let request = match serde_json::from_slice::<Request>(&body) {
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
    execute(&state, &headers, request).await
}

pub async fn get_handler(
    State(state): State<HttpState>,
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
            return Html(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .subscription_endpoint("/graphql/ws")
                    .title("memodesk GraphiQL")
                    .finish(),
            )
            .into_response();
        }
        return request_error(
            &headers,
            StatusCode::BAD_REQUEST,
            "pass the query as ?query=… (or POST it)",
        );
    }
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => {
            return request_error(
                &headers,
                StatusCode::BAD_REQUEST,
                &format!("bad query string: {err}"),
            );
        }
    };
    if is_mutation(&request) {
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
    execute(&state, &headers, request).await
}

fn url_has_param(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

/// Whether the operation the request selects is a mutation (unparsable documents are left to
/// the executor, which reports them properly).
fn is_mutation(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match &request.operation_name {
            Some(name) => ops
                .get(name.as_str())
                .is_some_and(|op| op.node.ty == OperationType::Mutation),
            None => ops.values().any(|op| op.node.ty == OperationType::Mutation),
        },
    }
}

async fn execute(state: &HttpState, headers: &HeaderMap, mut request: Request) -> Response {
    let actor = match auth::authenticate(&state.app, credential(headers)).await {
        Ok(actor) => actor,
        Err(err) => return app_error(headers, err),
    };
    if let Some(actor) = actor {
        request = request
            .data(Loaders::new(&state.app.db, actor.tenant_id))
            .data(actor);
    }
    let response = state.schema.execute(request).await;
    respond(headers, response)
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(GRAPHQL_RESPONSE))
}

/// Serializes a GraphQL response in the media type the client asked for. With
/// `application/graphql-response+json`, a request that never executed (syntax, validation,
/// limits) is a 400, as the GraphQL-over-HTTP spec asks.
fn respond(headers: &HeaderMap, response: GqlResponse) -> Response {
    let graphql_response = wants_graphql_response(headers);
    let status =
        if graphql_response && response.data == async_graphql::Value::Null && response.is_err() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
    let content_type = if graphql_response {
        GRAPHQL_RESPONSE
    } else {
        "application/json"
    };
    match serde_json::to_vec(&response) {
        Ok(body) => (status, [(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not serialize a GraphQL response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
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
