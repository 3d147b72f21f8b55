//! Extractors: who is calling (and may they), the JSON body, the page asked for.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use validator::Validate;

use super::AppState;
use crate::domain::roles::Role;
use crate::http::errors::{AppError, AppResult};
use crate::store::users::User;
use crate::store::PageRequest;

type BoxFuture<T> = Pin<Box<dyn Future<Output = AppResult<T>>>>;

fn state(req: &HttpRequest) -> AppResult<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state is missing")))
}

/// The signed-in caller: a valid bearer token whose account is active and
/// whose token version is current (a password change retires older tokens).
#[derive(Debug, Clone)]
pub struct AuthUser(pub std::sync::Arc<User>);

impl AuthUser {
    pub fn id(&self) -> i64 {
        self.0.id
    }

    pub fn has(&self, role: Role) -> bool {
        self.0.roles.contains(&role)
    }

    pub fn actor(&self) -> crate::domain::access::Actor {
        self.0.actor()
    }

    pub fn require(self, role: Role) -> AppResult<Self> {
        if self.has(role) {
            Ok(self)
        } else {
            Err(AppError::forbidden(format!("this needs the {} role", role.as_str())))
        }
    }
}

impl std::ops::Deref for AuthUser {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

fn bearer(req: &HttpRequest) -> AppResult<String> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::unauthorized("sign in first: no Authorization header"))?;
    let text = value.to_str().map_err(|_| AppError::unauthorized("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(AppError::unauthorized("the Authorization header must be 'Bearer <token>'")),
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = BoxFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = state(req).and_then(|state| Ok((state, bearer(req)?)));
        Box::pin(async move {
            let (state, token) = found?;
            let claims = state
                .tokens
                .verify(&token)
                .ok_or_else(|| AppError::unauthorized("the token is invalid or has expired"))?;
            let id: i64 =
                claims.sub.parse().map_err(|_| AppError::unauthorized("the token names no user"))?;
            let user = state.accounts.get(&state.db, id).await?;
            match user {
                Some(user) if user.is_active() && user.token_version == claims.tv => Ok(AuthUser(user)),
                Some(user) if !user.is_active() => Err(AppError::unauthorized("the account is disabled")),
                _ => Err(AppError::unauthorized("the token is no longer valid; sign in again")),
            }
        })
    }
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = BoxFuture<Self>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let user = AuthUser::from_request(req, payload);
                Box::pin(async move { user.await?.require($role).map($name) })
            }
        }

        impl std::ops::Deref for $name {
            type Target = AuthUser;
            fn deref(&self) -> &AuthUser {
                &self.0
            }
        }
    };
}

role_extractor!(Admin, Role::Admin, "A signed-in admin.");
role_extractor!(Reviewer, Role::Reviewer, "A signed-in reviewer.");

/// How long a client may take to send a JSON body once its head has arrived.
pub const JSON_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The same for a CSV upload: 32 MiB in 2 minutes is about 2 Mbit/s.
pub const CSV_BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// The body length the request announces, if it announces one.
pub fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn too_large(limit: usize) -> AppError {
    AppError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is larger than {limit} bytes"),
    )
}

/// Reads a request body of at most `limit` bytes that must arrive `within`
/// the given time. An announced Content-Length over the limit is 413 before
/// a byte is read (nothing is allocated for it), a body that grows past the
/// limit 413 at once, and one still incomplete when the time is up 408.
/// actix-web times only the request head: without the deadline a client
/// dribbling a body, or never sending the one it announced, held its
/// connection and the handler's memory for as long as it liked.
pub async fn read_body(
    payload: &mut Payload,
    declared: Option<u64>,
    limit: usize,
    within: Duration,
) -> AppResult<web::BytesMut> {
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| AppError::bad_request(format!("could not read the request body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(within, read).await.unwrap_or_else(|_| {
        Err(AppError::new(
            actix_web::http::StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the request body did not arrive within {} seconds", within.as_secs()),
        ))
    })
}

/// A JSON body, parsed and validated: malformed JSON is 400, wrong types or
/// missing fields 422 naming the field, broken rules 422 with field errors.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T> std::ops::Deref for ValidJson<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Body fields that hold a password or an activation code: an error about
/// one never repeats what was sent (serde's type errors quote the value, and
/// error answers are logged).
const SECRET_FIELDS: [&str; 4] = ["password", "new_password", "current_password", "activation_code"];

pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> AppResult<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                // serde reports a missing field at its parent: name the field itself.
                let missing = message.strip_prefix("missing field `").and_then(|m| m.split('`').next());
                let field = match (path.as_str(), missing) {
                    (".", Some(name)) => name.to_owned(),
                    (".", None) => "body".to_owned(),
                    (parent, Some(name)) => format!("{parent}.{name}"),
                    (_, None) => path,
                };
                let secret = SECRET_FIELDS.contains(&field.rsplit('.').next().unwrap_or(&field));
                let message = match (secret, missing) {
                    (true, None) => "must be a string".to_owned(),
                    _ => message,
                };
                AppError::invalid_field(&field, message)
            }
            _ => AppError::bad_request(format!("malformed JSON: {inner}")),
        }
    })?;
    de.end().map_err(|e| AppError::bad_request(format!("malformed JSON: {e}")))?;
    value.validate()?;
    Ok(value)
}

/// Reads and parses a JSON body; an empty one is `None`.
fn json_body<T: DeserializeOwned + Validate + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> BoxFuture<Option<T>> {
    let limit = state(req).map(|s| s.settings.json_limit);
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let declared = declared_length(req);
    let mut payload = payload.take();
    Box::pin(async move {
        if let Some(kind) = content_type.filter(|k| !k.to_ascii_lowercase().contains("json")) {
            return Err(AppError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("expected application/json, got {kind}"),
            ));
        }
        let body = read_body(&mut payload, declared, limit?, JSON_BODY_TIMEOUT).await?;
        if body.is_empty() {
            return Ok(None);
        }
        parse_json(&body).map(Some)
    })
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = AppError;
    type Future = BoxFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload);
        Box::pin(async move {
            body.await?.map(ValidJson).ok_or_else(|| AppError::bad_request("the request needs a JSON body"))
        })
    }
}

/// Like `ValidJson`, for bodies whose every field is optional: no body at all
/// means the defaults.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Validate + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = BoxFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body(req, payload);
        Box::pin(async move { Ok(OptionalJson(body.await?.unwrap_or_default())) })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
}

impl PageQuery {
    pub fn request(&self) -> AppResult<PageRequest> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=1_000_000).contains(&page) {
            return Err(AppError::invalid_field("page", "must be between 1 and 1000000"));
        }
        if !(1..=PageRequest::MAX_PER_PAGE).contains(&per_page) {
            return Err(AppError::invalid_field("per_page", "must be between 1 and 500"));
        }
        Ok(PageRequest { page, per_page })
    }
}

/// The version a client read, from `If-Match: "N"` (`*` or no header: none).
pub fn if_match(req: &HttpRequest) -> AppResult<Option<i32>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| AppError::bad_request("If-Match is not text"))?.trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.trim_start_matches("W/").trim_matches('"');
    tag.parse()
        .map(Some)
        .map_err(|_| AppError::bad_request(format!("If-Match {text} is not a version this service issued")))
}

/// The ETag for a versioned resource.
pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::auth::{ActivateRequest, LoginRequest};

    fn message<T: DeserializeOwned + Validate>(body: &str) -> String {
        let problem = parse_json::<T>(body.as_bytes()).err().expect("refused").problem();
        serde_json::to_string(&problem).unwrap()
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_repeated() {
        let login = message::<LoginRequest>(r#"{"employee_no": "E1", "password": 13812345678}"#);
        assert!(login.contains("must be a string") && !login.contains("13812345678"), "{login}");
        let body = r#"{"employee_no": "E1", "activation_code": 4711471147114711, "new_password": "x"}"#;
        let activate = message::<ActivateRequest>(body);
        assert!(activate.contains("activation_code") && !activate.contains("4711471147114711"), "{activate}");
        // Other fields still say what was wrong with them, and a missing secret is named.
        let other = message::<LoginRequest>(r#"{"employee_no": 42, "password": "x"}"#);
        assert!(other.contains("integer `42`"), "{other}");
        let missing = message::<LoginRequest>(r#"{"employee_no": "E1"}"#);
        assert!(missing.contains("missing field `password`"), "{missing}");
    }
}
