//! What every page shares: the language it is read in, the frame around it,
//! times in the configured zone, and failures shown as pages.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use chrono_tz::Tz;

use super::assets::ASSETS;
use crate::domain::time::Timestamp;
use crate::http::errors::AppError;
use crate::http::AppState;
use crate::i18n::{Arg, Lang};
use crate::store::{StoreError, StoreResult};

pub const LANG_COOKIE: &str = "awards_lang";

/// The console's policy: our own scripts and styles only, no inline script,
/// no eval, no plugins, no framing, forms only to ourselves.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; \
                       frame-ancestors 'none'";

/// The reader's language: `?lang=`, then the cookie (which sign-in sets from
/// the account's stored choice), then `Accept-Language`; zh-CN when nothing says.
pub fn lang_of(req: &HttpRequest) -> Lang {
    let asked =
        req.query_string().split('&').find_map(|pair| pair.strip_prefix("lang=")).and_then(Lang::from_tag);
    let cookie = || req.cookie(LANG_COOKIE).and_then(|c| Lang::from_tag(c.value()));
    let accept = || {
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
    };
    asked.or_else(cookie).or_else(accept).unwrap_or_default()
}

/// Words and formats for one page, as templates use them.
#[derive(Clone, Copy)]
pub struct Words {
    pub lang: Lang,
    pub zone: Tz,
}

impl Words {
    /// In this language, times in the configured zone.
    pub fn new(lang: Lang) -> Self {
        Words { lang, zone: super::zone() }
    }

    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn t1(&self, key: &str, name: &str, value: impl ToString) -> String {
        self.lang.t_args(key, &[(name, Arg::from(value.to_string()))])
    }

    /// Askama hands tuple arguments over by reference.
    pub fn t2(&self, key: &str, a: &(&str, i64), b: &(&str, i64)) -> String {
        self.lang.t_args(key, &[(a.0, Arg::from(a.1)), (b.0, Arg::from(b.1))])
    }

    /// `2026年3月1日 08:00`, or `2026-03-01 08:00`, in the configured zone.
    pub fn time(&self, t: &Timestamp) -> String {
        let local = t.and_utc().with_timezone(&self.zone);
        match self.lang {
            Lang::ZhCn => local.format("%Y年%-m月%-d日 %H:%M").to_string(),
            Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
        }
    }

    /// The zone's name as people read it: `北京时间` for Asia/Shanghai.
    pub fn zone_name(&self) -> String {
        match self.zone {
            Tz::Asia__Shanghai => self.t("zone-beijing"),
            zone => zone.name().to_owned(),
        }
    }

    /// 12,345: grouped by thousands, as both languages here write numbers.
    pub fn number(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    }

    pub fn css(&self) -> &'static str {
        &ASSETS.css.name
    }

    pub fn js(&self) -> &'static str {
        &ASSETS.js.name
    }

    pub fn htmx(&self) -> &'static str {
        &ASSETS.htmx.name
    }

    pub fn other_lang(&self) -> (&'static str, &'static str) {
        match self.lang {
            Lang::ZhCn => ("en", "English"),
            Lang::En => ("zh-CN", "中文"),
        }
    }
}

/// A rendered page with the console's headers.
pub fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(html) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            // The page could not be made: the words alone, in both languages.
            let words = format!("{}\n{}", Lang::ZhCn.t("error-internal"), Lang::En.t("error-internal"));
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body(words)
        }
    }
}

/// `303 See Other` to a console path (after a form, or to sign in).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Only our own pages may be returned to after sign-in: no `//evil`, no scheme.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with("/console/") && !path.contains("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/console/".into(),
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum Failure {
    SignIn {
        next: String,
    },
    Forbidden,
    NotFound,
    Csrf,
    BadForm,
    /// A refusal or error of the rules, shown with its catalog message.
    App(AppError),
    Internal(anyhow::Error),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        if e.status == StatusCode::NOT_FOUND {
            Failure::NotFound
        } else {
            Failure::App(e)
        }
    }
}

/// A failure in the reader's language.
#[derive(Debug)]
pub struct PageError {
    pub lang: Lang,
    pub failure: Failure,
}

impl PageError {
    pub fn new(lang: Lang, failure: impl Into<Failure>) -> Self {
        PageError { lang, failure: failure.into() }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.failure)
    }
}

#[derive(Template)]
#[template(path = "error.html", config = "src/console/askama.toml")]
struct ErrorPage {
    w: Words,
    heading: String,
    message: String,
    signed_in: bool,
}

/// Runs store work off the async threads. The outer error (no connection,
/// the pool gave up) is a failure page; the inner result is the store's, for
/// the page to show a refusal in place.
pub async fn store<T: Send + 'static>(
    state: &AppState,
    lang: Lang,
    f: impl FnOnce(&mut crate::db::DbConn) -> StoreResult<T> + Send + 'static,
) -> Result<StoreResult<T>, PageError> {
    state.db.run(move |conn| Ok::<_, AppError>(f(conn))).await.map_err(|e| PageError::new(lang, e))
}

/// A store error where the page has nothing better to show: a failure page.
pub fn fail(lang: Lang, error: StoreError) -> PageError {
    PageError::new(lang, AppError::from(error))
}

/// The message a person reads for an answer of the rules: the catalog's
/// words for its `code`, in their language.
pub fn problem_text(lang: Lang, error: &AppError) -> String {
    let key = format!("problem-{}", error.code.replace('_', "-"));
    if lang.has(&key) {
        lang.t(&key)
    } else {
        lang.t("problem-generic")
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match &self.failure {
            Failure::SignIn { .. } => StatusCode::SEE_OTHER,
            Failure::Forbidden | Failure::Csrf => StatusCode::FORBIDDEN,
            Failure::NotFound => StatusCode::NOT_FOUND,
            Failure::BadForm => StatusCode::BAD_REQUEST,
            Failure::App(e) => e.status,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let lang = self.lang;
        let w = Words::new(lang);
        let (heading, message) = match &self.failure {
            Failure::SignIn { next } => {
                let next = safe_next(Some(next));
                let encoded: String = url_encode(&next);
                return see_other(&format!("/console/login?next={encoded}"));
            }
            Failure::Forbidden => (w.t("error-forbidden-title"), w.t("error-forbidden")),
            Failure::NotFound => (w.t("error-not-found-title"), w.t("error-not-found")),
            Failure::Csrf => (w.t("error-forbidden-title"), w.t("error-csrf")),
            Failure::BadForm => (w.t("error-bad-form-title"), w.t("error-bad-form")),
            Failure::App(e) => (w.t("error-refused-title"), problem_text(lang, e)),
            Failure::Internal(e) => {
                tracing::error!(error = %e, "console page failed");
                (w.t("error-internal-title"), w.t("error-internal"))
            }
        };
        let signed_in = !matches!(self.failure, Failure::Csrf);
        page(self.status_code(), &ErrorPage { w, heading, message, signed_in })
    }
}

/// Percent-encodes a path for a query value.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Sending someone to sign in is not a failure of the service: the answer
/// goes out without the error attached, so the request log does not record an
/// expired session as an ERROR.
pub async fn quiet_sign_in(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let sign_in = res
        .response()
        .error()
        .and_then(|e| e.as_error::<PageError>())
        .is_some_and(|e| matches!(e.failure, Failure::SignIn { .. }));
    if !sign_in {
        return Ok(res);
    }
    let (req, response) = res.into_parts();
    let mut fresh = HttpResponse::build(response.status());
    for (name, value) in response.headers() {
        fresh.append_header((name.clone(), value.clone()));
    }
    Ok(actix_web::dev::ServiceResponse::new(req, fresh.body(response.into_body())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_pages_are_returned_to() {
        assert_eq!(safe_next(Some("/console/nominations/3")), "/console/nominations/3");
        for bad in [
            "//evil.example/console/",
            "https://evil.example/",
            "/console//evil",
            "/api/v1/me",
            "/console\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console/", "{bad}");
        }
        assert_eq!(safe_next(None), "/console/");
    }

    #[test]
    fn times_in_the_zone_and_numbers_grouped() {
        let w = Words { lang: Lang::ZhCn, zone: Tz::Asia__Shanghai };
        let t = Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
        assert_eq!(w.time(&t), "2026年3月1日 08:00");
        assert_eq!(Words { lang: Lang::En, ..w }.time(&t), "2026-03-01 08:00");
        assert_eq!(w.number(300000), "300,000");
        assert_eq!(w.number(-1234), "-1,234");
        assert_eq!(w.number(12), "12");
    }

    #[test]
    fn every_code_a_console_page_can_meet_has_words() {
        for code in [
            "quota_exhausted",
            "window_closed",
            "not_nominating",
            "already_nominated",
            "invalid_state",
            "stale",
            "forbidden",
            "not_found",
            "validation_failed",
            "unauthorized",
            "account_locked",
            "account_disabled",
            "unavailable",
            "too_many_requests",
            "duplicate",
        ] {
            let key = format!("problem-{}", code.replace('_', "-"));
            assert!(Lang::ZhCn.has(&key), "{key}");
        }
    }
}
