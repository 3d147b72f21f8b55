//! The error answers every operation shares, declared once for the whole
//! OpenAPI document instead of on each handler.
//!
//! Handlers declare their success answer and the errors that belong to them
//! (403 for a role, 409 for a state, 412, 429, or any error with a word on
//! when it happens). Everything else follows from the operation's shape:
//!
//! | answer | to                                   | why |
//! |--------|--------------------------------------|-----|
//! | 400    | every operation                      | the request cannot be read: a path segment, header or JSON body that does not parse |
//! | 401    | every operation that needs a token   | no token, a bad or expired one, or a disabled account |
//! | 404    | every operation with a path parameter| nothing has that id |
//! | 413    | every operation with a body          | the body is over the limit |
//! | 415    | every operation with a body          | the body is not of the documented type |
//! | 422    | operations with a body or a query    | a field breaks a rule, or a query value does not parse |
//! | 503    | every operation under `/api/`        | the database is busy or unreachable (with Retry-After) |
//!
//! And for every error answer, whoever declared it: the body is a
//! [`Problem`](crate::http::errors::Problem) as `application/problem+json`, and a 429
//! or 503 carries `Retry-After`.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Type};

const PROBLEM_JSON: &str = "application/problem+json";

/// Adds the shared error answers to every operation of `openapi`. Call it on
/// the finished document: the paths are only there once the routes are.
pub fn add_problem_responses(openapi: &mut utoipa::openapi::OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            add_to_operation(path, operation);
        }
    }
}

fn add_to_operation(path: &str, op: &mut Operation) {
    let has = |place: ParameterIn| op.parameters.iter().flatten().any(|p| p.parameter_in == place);
    let (has_path, has_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
    let has_body = op.request_body.is_some();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());

    let mut shared: Vec<(&str, &str)> =
        vec![("400", "Malformed request: a path segment, header or body that does not parse")];
    if secured {
        shared.push(("401", "No valid token: sign in"));
    }
    if has_path {
        shared.push(("404", "Nothing has that id"));
    }
    if has_body {
        shared.push(("413", "The body is larger than the limit"));
        shared.push(("415", "The body is not of the documented content type"));
    }
    if has_body || has_query {
        shared.push(("422", "A field or query value breaks a rule; `errors` names the fields"));
    }
    if path.starts_with("/api/") {
        shared.push(("503", "The database is busy or unreachable; retry after Retry-After seconds"));
    }

    let responses = &mut op.responses.responses;
    for (status, description) in shared {
        responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(problem(description)));
    }
    for (status, response) in responses.iter_mut() {
        if let (true, RefOr::T(response)) = (status.starts_with('4') || status.starts_with('5'), response) {
            as_problem(status, response);
        }
    }
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new().description(description).build()
}

/// An error answer's body is a Problem, typed `application/problem+json`.
fn as_problem(status: &str, response: &mut Response) {
    let content = response
        .content
        .shift_remove("application/json")
        .unwrap_or_else(|| ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build());
    response.content.insert(PROBLEM_JSON.to_owned(), content);
    if matches!(status, "429" | "503") {
        response.headers.entry("Retry-After".to_owned()).or_insert_with(|| {
            HeaderBuilder::new()
                .schema(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before retrying"))
                .build()
        });
    }
}
