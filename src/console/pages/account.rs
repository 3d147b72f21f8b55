//! Signing in and out, activation, the language, and each person's home page.

use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::session::{self, Signed};
use crate::console::view::{self, page, problem_text, safe_next, see_other, Failure, PageError, Words};
use crate::domain::campaign::CampaignStatus;
use crate::domain::roles::Role;
use crate::http::errors::AppError;
use crate::http::AppState;
use crate::i18n::Lang;
use crate::store::assignments::{self, ReviewerRound};
use crate::store::campaigns::{self, Campaign};
use crate::store::{preferences, PageRequest};

#[derive(Template)]
#[template(path = "login.html", config = "src/console/askama.toml")]
struct LoginPage {
    w: Words,
    next: String,
    /// This page with its `next`, as a query value (for the language link).
    here: String,
    employee_no: String,
    problem: Option<String>,
}

impl LoginPage {
    fn new(w: Words, next: String, employee_no: String, problem: Option<String>) -> Self {
        let here = view::url_encode(&format!("/console/login?next={}", view::url_encode(&next)));
        LoginPage { w, next, here, employee_no, problem }
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(req: HttpRequest, query: web::Query<NextQuery>) -> HttpResponse {
    let w = Words::new(view::lang_of(&req));
    page(StatusCode::OK, &LoginPage::new(w, safe_next(query.next.as_deref()), String::new(), None))
}

/// No Debug: it holds a password.
#[derive(Deserialize)]
pub struct LoginForm {
    employee_no: String,
    password: String,
    next: Option<String>,
}

/// The language a person chose before stays theirs on any browser.
fn lang_cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build(view::LANG_COOKIE, lang.tag())
        .path("/console")
        .same_site(SameSite::Lax)
        .http_only(true)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let lang = view::lang_of(&req);
    if !session::same_origin(&req) {
        return Err(PageError::new(lang, Failure::Csrf));
    }
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let refused = |error: AppError| {
        let problem = Some(problem_text(lang, &error));
        let status = if error.status.is_server_error() { error.status } else { StatusCode::OK };
        let employee_no = form.employee_no.chars().take(32).collect();
        page(status, &LoginPage::new(Words::new(lang), next.clone(), employee_no, problem))
    };
    if form.employee_no.trim().is_empty() || form.password.is_empty() || form.password.chars().count() > 256 {
        return Ok(refused(AppError::unauthorized("")));
    }
    let user = match crate::http::auth::sign_in(&state, &form.employee_no, form.password.clone()).await {
        Ok(user) => user,
        Err(error) => return Ok(refused(error)),
    };
    session::sign_in(&session, &user).map_err(|f| PageError::new(lang, f))?;
    let id = user.id;
    let stored = state.db.run(move |conn| preferences::lang(conn, id)).await.unwrap_or(None);
    let mut answer = see_other(&next);
    if let Some(stored) = stored {
        let _ = answer.add_cookie(&lang_cookie(stored));
    }
    Ok(answer)
}

#[derive(Template)]
#[template(path = "activate.html", config = "src/console/askama.toml")]
struct ActivatePage {
    w: Words,
    employee_no: String,
    problem: Option<String>,
    password_problem: Option<String>,
}

pub async fn activate_form(req: HttpRequest) -> HttpResponse {
    let w = Words::new(view::lang_of(&req));
    page(
        StatusCode::OK,
        &ActivatePage { w, employee_no: String::new(), problem: None, password_problem: None },
    )
}

/// No Debug: it holds a code and a password.
#[derive(Deserialize)]
pub struct ActivateForm {
    employee_no: String,
    activation_code: String,
    new_password: String,
    repeat_password: String,
}

pub async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<ActivateForm>,
) -> Result<HttpResponse, PageError> {
    let lang = view::lang_of(&req);
    if !session::same_origin(&req) {
        return Err(PageError::new(lang, Failure::Csrf));
    }
    let form = form.into_inner();
    let employee_no: String = form.employee_no.chars().take(32).collect();
    let show = |problem: Option<String>, password_problem: Option<String>| {
        page(
            StatusCode::OK,
            &ActivatePage {
                w: Words::new(lang),
                employee_no: employee_no.clone(),
                problem,
                password_problem,
            },
        )
    };
    if form.new_password != form.repeat_password {
        return Ok(show(None, Some(lang.t("activate-passwords-differ"))));
    }
    if form.employee_no.trim().is_empty() || form.activation_code.trim().is_empty() {
        return Ok(show(Some(lang.t("activate-fill-all")), None));
    }
    let result = crate::http::auth::activate_account(
        &state,
        form.employee_no.trim(),
        form.activation_code.trim(),
        form.new_password,
    )
    .await;
    match result {
        Ok(user) => {
            session::sign_in(&session, &user).map_err(|f| PageError::new(lang, f))?;
            Ok(see_other("/console/"))
        }
        Err(error) if error.errors.iter().any(|e| e.field == "new_password") => {
            Ok(show(None, Some(lang.t("activate-password-policy"))))
        }
        Err(error) => Ok(show(Some(problem_text(lang, &error)), None)),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    signed: Signed,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_post(&req, &form.csrf)?;
    session::sign_out(&state, &session, &signed).await?;
    Ok(see_other("/console/login"))
}

/// `GET /console/lang/{tag}?next=`: remembered in a cookie, and on the
/// account when someone is signed in.
pub async fn switch_lang(
    state: web::Data<AppState>,
    req: HttpRequest,
    tag: web::Path<String>,
    query: web::Query<NextQuery>,
) -> HttpResponse {
    let lang = Lang::from_tag(&tag).unwrap_or_default();
    if let Ok(user) = <Signed as actix_web::FromRequest>::extract(&req).await {
        let id = user.user.id;
        let _ = state.db.run(move |conn| preferences::set_lang(conn, id, lang)).await;
    }
    let mut answer = see_other(&safe_next(query.next.as_deref()));
    let _ = answer.add_cookie(&lang_cookie(lang));
    answer
}

#[derive(Template)]
#[template(path = "home.html", config = "src/console/askama.toml")]
struct HomePage {
    w: Words,
    csrf: String,
    name: String,
    is_manager: bool,
    is_reviewer: bool,
    is_admin: bool,
    campaigns: Vec<Campaign>,
    rounds: Vec<ReviewerRound>,
}

pub async fn home(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, PageError> {
    let lang = signed.lang;
    let reviewer = signed.user.id;
    let (is_manager, is_reviewer, is_admin) =
        (signed.has(Role::Manager), signed.has(Role::Reviewer), signed.has(Role::Admin));
    let (campaigns, rounds) = state
        .db
        .run(move |conn| {
            let campaigns = if is_manager || is_admin {
                campaigns::list(conn, PageRequest { page: 1, per_page: 20 })?
                    .items
                    .into_iter()
                    .filter(|c| c.status != CampaignStatus::Draft || is_admin)
                    .collect()
            } else {
                vec![]
            };
            let rounds = if is_reviewer { assignments::rounds_of(conn, reviewer)? } else { vec![] };
            Ok::<_, crate::store::StoreError>((campaigns, rounds))
        })
        .await
        .map_err(|e| PageError::new(lang, e))?;
    Ok(page(
        StatusCode::OK,
        &HomePage {
            w: Words::new(lang),
            csrf: signed.csrf.clone(),
            name: signed.user.name.clone(),
            is_manager,
            is_reviewer,
            is_admin,
            campaigns,
            rounds,
        },
    ))
}
