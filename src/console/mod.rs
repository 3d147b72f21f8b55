//! The web console: server-rendered pages in Chinese (and English) for the
//! people who do not write JSON. Pages call the same store functions as the
//! API and show the same refusals; no rule is written here a second time.
//!
//! Everything lives under `/console`: its own cookie session, CSRF tokens on
//! every form, its own strict Content-Security-Policy, embedded assets.

mod assets;
mod pages;
mod refusals;
pub mod session;
mod view;

use std::sync::OnceLock;

use actix_web::dev::HttpServiceFactory;
use actix_web::{web, HttpRequest};

use crate::config::Settings;
use view::{Failure, PageError};

static ZONE: OnceLock<chrono_tz::Tz> = OnceLock::new();

/// The zone pages show times in (set once, from the settings).
pub fn zone() -> chrono_tz::Tz {
    *ZONE.get().unwrap_or(&chrono_tz::Asia::Shanghai)
}

/// The `/console` scope, and `/` sending people there.
pub fn routes(settings: &Settings, session_master: &[u8; 64]) -> impl HttpServiceFactory {
    let _ = ZONE.set(settings.console.timezone);
    let sessions = session::middleware(session_master, settings.console.console_secure_cookie);
    let forms = web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|_, req: &HttpRequest| PageError::new(view::lang_of(req), Failure::BadForm).into());
    let paths = web::PathConfig::default()
        .error_handler(|_, req: &HttpRequest| PageError::new(view::lang_of(req), Failure::NotFound).into());
    let queries = web::QueryConfig::default()
        .error_handler(|_, req: &HttpRequest| PageError::new(view::lang_of(req), Failure::BadForm).into());
    (
        web::resource("/").route(web::get().to(|| async { view::see_other("/console/") })),
        web::resource("/console").route(web::get().to(|| async { view::see_other("/console/") })),
        web::scope("/console")
            // Pages and assets travel compressed when the browser accepts it.
            .wrap(actix_web::middleware::from_fn(view::quiet_sign_in))
            .wrap(actix_web::middleware::Compress::default())
            .app_data(forms)
            .app_data(paths)
            .app_data(queries)
            .route(
                "/assets/{name}",
                web::get().to(|req: HttpRequest, name: web::Path<String>| async move {
                    assets::serve(&name).ok_or_else(|| PageError::new(view::lang_of(&req), Failure::NotFound))
                }),
            )
            .service(web::scope("").wrap(sessions).configure(pages::configure).default_service(web::to(
                |req: HttpRequest| async move {
                    Err::<actix_web::HttpResponse, _>(PageError::new(view::lang_of(&req), Failure::NotFound))
                },
            ))),
    )
}
