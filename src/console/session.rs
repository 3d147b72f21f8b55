//! Console sessions: an encrypted, signed cookie scoped to `/console`
//! (actix-session's cookie store), holding who signed in, their token
//! version, a CSRF token and two times. The JSON API never reads it.
//!
//! A session ends after `idle` without a request, after `absolute` whatever
//! happens, and at once when the account's token version moves (password
//! change, reset, disable): the same bump that retires bearer tokens. Signing
//! out ends it on the server too: the account records when, and every console
//! session begun before then is over, so a copied cookie dies with it.

use std::sync::Arc;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionExt, SessionMiddleware};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use super::view::{Failure, PageError};
use crate::domain::roles::Role;
use crate::domain::time::Timestamp;
use crate::http::AppState;
use crate::i18n::Lang;
use crate::store::users::User;

pub const COOKIE: &str = "awards_console";
const KEY: &str = "s";

/// The cookie middleware for the `/console` scope. Its keys come from the
/// token signing key (see `Tokens::session_master`; HKDF inside
/// `Key::derive_from`), so there is nothing new to keep secret.
pub fn middleware(master: &[u8; 64], secure: bool) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), Key::derive_from(master))
        .cookie_name(COOKIE.to_owned())
        .cookie_path("/console".to_owned())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Strict)
        .cookie_secure(secure)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(BrowserSession::default())
        .build()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    uid: i64,
    tv: i32,
    csrf: String,
    /// Milliseconds since 1970: when the person signed in, and when last seen.
    since: i64,
    seen: i64,
}

/// Starts a session for `user` (a new one: the old cookie's id is dropped).
pub fn sign_in(session: &Session, user: &User) -> Result<(), Failure> {
    session.renew();
    let now = Timestamp::now().and_utc().timestamp_millis();
    let stored = Stored {
        uid: user.id,
        tv: user.token_version,
        csrf: hex::encode(rand::random::<[u8; 32]>()),
        since: now,
        seen: now,
    };
    session.insert(KEY, stored).map_err(|e| Failure::Internal(anyhow::anyhow!("session: {e}")))
}

/// Ends this session, and (recorded on the account) every other console
/// session the person began before now.
pub async fn sign_out(state: &AppState, session: &Session, signed: &Signed) -> Result<(), PageError> {
    let id = signed.user.id;
    let now = Timestamp::now();
    state
        .db
        .run(move |conn| crate::store::preferences::sign_out_console(conn, id, now))
        .await
        .map_err(|e| PageError::new(signed.lang, Failure::from(e)))?;
    state.accounts.forget(id);
    session.purge();
    Ok(())
}

/// Whether the person signed out after this session began.
fn signed_out(user: &User, stored: &Stored) -> bool {
    user.console_signed_out_at.is_some_and(|at| at.and_utc().timestamp_millis() >= stored.since)
}

/// A signed-in person, their CSRF token and their language.
pub struct Signed {
    pub user: Arc<User>,
    pub csrf: String,
    pub lang: Lang,
}

impl Signed {
    pub fn has(&self, role: Role) -> bool {
        self.user.roles.contains(&role)
    }

    pub fn actor(&self) -> crate::domain::access::Actor {
        self.user.actor()
    }

    pub fn require(&self, role: Role) -> Result<(), PageError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(PageError::new(self.lang, Failure::Forbidden))
        }
    }

    /// A state-changing request must come from our own pages: the session's
    /// CSRF token, and a same-origin `Origin` or `Sec-Fetch-Site`.
    pub fn check_post(&self, req: &HttpRequest, token: &str) -> Result<(), PageError> {
        let same_token = crate::auth::same_hash(&self.csrf, token);
        if same_token && same_origin(req) {
            Ok(())
        } else {
            Err(PageError::new(self.lang, Failure::Csrf))
        }
    }
}

/// `Sec-Fetch-Site: same-origin`, or an `Origin` whose host is the `Host` asked for.
pub fn same_origin(req: &HttpRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        }
        _ => false,
    }
}

/// Where a person who must sign in again comes back to: the page they asked
/// for (a GET), else the page the form was on.
fn return_path(req: &HttpRequest) -> String {
    let here = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    if req.method() == actix_web::http::Method::GET {
        return here;
    }
    req.headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/console/").map(|at| r[at..].to_owned()))
        .unwrap_or_else(|| "/console/".into())
}

impl FromRequest for Signed {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| {
                PageError::new(Lang::default(), Failure::Internal(anyhow::anyhow!("no state")))
            })?;
            let session = req.get_session();
            let lifetimes = state.settings.console_lifetimes();
            let again = |lang| PageError::new(lang, Failure::SignIn { next: return_path(&req) });
            let fallback_lang = super::view::lang_of(&req);
            let stored: Stored = match session.get::<Stored>(KEY) {
                Ok(Some(stored)) => stored,
                _ => return Err(again(fallback_lang)),
            };
            let now = Timestamp::now().and_utc().timestamp_millis();
            let expired = now - stored.seen > lifetimes.idle.as_millis() as i64
                || now - stored.since > lifetimes.absolute.as_millis() as i64;
            if expired {
                session.purge();
                return Err(again(fallback_lang));
            }
            let user = state
                .accounts
                .get(&state.db, stored.uid)
                .await
                .map_err(|e| PageError::new(fallback_lang, Failure::from(e)))?;
            let user = match user {
                Some(user)
                    if user.is_active() && user.token_version == stored.tv && !signed_out(&user, &stored) =>
                {
                    user
                }
                _ => {
                    session.purge();
                    return Err(again(fallback_lang));
                }
            };
            // Seen again: written back at most once a minute, to keep answers small.
            if now - stored.seen >= 60_000 {
                let _ = session.insert(KEY, Stored { seen: now, ..stored.clone() });
            }
            let lang = super::view::lang_of(&req);
            Ok(Signed { user, csrf: stored.csrf, lang })
        })
    }
}
