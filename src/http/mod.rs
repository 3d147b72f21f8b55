//! HTTP: the app factory, extractors and one module per resource.
//! Handlers translate between HTTP and the store; rules live in `domain`.

pub mod audit;
pub mod auth;
pub mod campaigns;
mod csv_export;
pub mod errors;
pub mod extract;
pub mod imports;
pub mod middleware;
pub mod nominations;
mod openapi;
pub mod ops;
pub mod org;
mod refusals;
pub mod results;
pub mod reviews;
pub mod rounds;
mod state;
pub mod users;
pub mod votes;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;
use validator::ValidationError;

pub use state::{Accounts, AppState, Db, Fields};

use crate::http::errors::AppError;

#[derive(OpenApi)]
#[openapi(
    info(title = "awards", description = "Staff award service: nominations, screening rounds, employee voting, published winners."),
    modifiers(&BearerAuth),
    components(schemas(crate::http::errors::Problem, crate::http::errors::FieldError)),
    tags(
        (name = "auth", description = "Sign-in, activation, password"),
        (name = "org", description = "Member companies and branches"),
        (name = "users", description = "Accounts and the employee import"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "campaigns", description = "One year's award"),
        (name = "nominations", description = "Branch managers put employees forward"),
        (name = "rounds", description = "Screening rounds: configuration, opening, closing, results and winners"),
        (name = "reviews", description = "Panels, assignments and reviewers' scores"),
        (name = "votes", description = "Employee voting: ballot, votes and receipts, the public ledger"),
        (name = "ops", description = "Probes"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Builds the application for one worker: routes, OpenAPI document and docs page.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, mut openapi) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(state)
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| AppError::bad_request(format!("bad path: {e}")).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
        .service(
            scope::scope("/api/v1")
                // Routes are tried in order, and most are patterns matched by
                // a regex: the ones 300,000 voters call come first.
                .service(votes::vote)
                .service(votes::ballot)
                .service(votes::withdraw)
                .service(auth::me)
                .service(auth::login)
                .service(auth::activate)
                .service(auth::change_password)
                .service(org::create_member_company)
                .service(org::list_member_companies)
                .service(org::get_member_company)
                .service(org::update_member_company)
                .service(org::delete_member_company)
                .service(org::create_branch)
                .service(org::list_branches)
                .service(org::get_branch)
                .service(org::update_branch)
                .service(org::delete_branch)
                .service(users::create)
                .service(users::list)
                .service(users::get)
                .service(users::update)
                .service(users::disable)
                .service(users::reset_activation)
                .service(imports::import_employees)
                .service(audit::list)
                .service(audit::verify)
                .service(campaigns::create)
                .service(campaigns::list)
                .service(campaigns::get)
                .service(campaigns::update)
                .service(nominations::nominate)
                .service(nominations::list_nominations)
                .service(nominations::counts)
                .service(campaigns::export)
                .service(nominations::mine)
                .service(nominations::get)
                .service(nominations::update)
                .service(nominations::delete_draft)
                .service(nominations::submit)
                .service(nominations::withdraw)
                .service(nominations::ineligible)
                .service(rounds::create)
                .service(rounds::list)
                .service(rounds::get)
                .service(rounds::update)
                .service(rounds::remove)
                .service(reviews::set_panel)
                .service(reviews::panel)
                .service(reviews::assign)
                .service(rounds::open)
                .service(rounds::close)
                .service(rounds::preview)
                .service(reviews::progress)
                .service(reviews::mine)
                .service(reviews::review)
                .service(results::results)
                .service(results::recount)
                .service(results::winners)
                .service(votes::ledger)
                .service(votes::anomalies),
        )
        .service(ops::healthz)
        .service(ops::readyz)
        .split_for_parts();
    // The error answers every operation shares, declared once (see openapi.rs).
    openapi::add_problem_responses(&mut openapi);
    let routes = web::Data::new(Routes::of(&openapi));
    app.app_data(routes)
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", openapi))
        .service(web::redirect("/docs", "/docs/"))
        // Answered by the metrics middleware; the route only keeps it out of the 404 log.
        .route("/metrics", web::get().to(HttpResponse::Ok))
        .default_service(web::to(not_found))
        .wrap(ErrorHandlers::new().default_handler(problem_body))
        .wrap(middleware::security_headers())
        .wrap(actix_web::middleware::from_fn(middleware::head_as_get))
}

/// The client's address: the peer's, or behind a trusted proxy the last
/// X-Forwarded-For entry (the one the proxy added: earlier ones are the
/// client's to forge). Rate limits, anomaly reports and the access log use it.
pub fn client_address(req: &HttpRequest, trust_proxy: bool) -> String {
    let forwarded = trust_proxy
        .then(|| req.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').map(str::trim).find(|s| !s.is_empty()))
        .map(str::to_owned);
    forwarded.or_else(|| req.peer_addr().map(|a| a.ip().to_string())).unwrap_or_else(|| "unknown".into())
}

/// The API's paths and the methods each answers to, as the OpenAPI document
/// lists them: the one list of routes there is.
struct Routes(Vec<(ResourceDef, Vec<&'static str>)>);

impl Routes {
    fn of(doc: &utoipa::openapi::OpenApi) -> Routes {
        let routes = doc.paths.paths.iter().map(|(path, item)| {
            let operations = [
                ("GET", &item.get),
                ("HEAD", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ];
            let methods = operations.into_iter().filter(|(_, op)| op.is_some()).map(|(method, _)| method);
            // The document's templates are the routes' own patterns.
            (ResourceDef::new(path.as_str()), methods.collect())
        });
        Routes(routes.collect())
    }

    /// The methods `path` answers to, matched as the router matches it:
    /// none when it is not one of ours.
    fn allowed(&self, path: &str) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = self
            .0
            .iter()
            .filter(|(route, _)| route.is_match(path))
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }
}

/// No route took the request: 405 with `Allow` when the path is ours and
/// only the method is wrong, else 404.
async fn not_found(req: HttpRequest, routes: web::Data<Routes>) -> HttpResponse {
    use actix_web::ResponseError;
    let allowed = routes.allowed(req.match_info().as_str());
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        let detail = format!("no route for {} {}", req.method(), req.path());
        return AppError::new(actix_web::http::StatusCode::NOT_FOUND, "not_found", detail).error_response();
    }
    let allow = allowed.join(", ");
    let detail = format!("{} takes {allow}, not {}", req.path(), req.method());
    let mut response =
        AppError::new(actix_web::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail)
            .error_response();
    if let Ok(allow) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

fn query_error(e: actix_web::error::QueryPayloadError) -> AppError {
    let text = e.to_string();
    let message = text.strip_prefix("Query deserialize error: ").unwrap_or(&text).to_owned();
    AppError::unprocessable("invalid_query", message)
}

/// Gives error responses that the framework made itself (405, 413, ...) the
/// same problem+json body as ours.
fn problem_body<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    // The console answers its own errors with pages.
    if is_problem || res.request().path().starts_with("/console") {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
    let code = match status.as_u16() {
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "too_large",
        _ if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let problem = AppError::new(status, code, detail);
    let response: HttpResponse<BoxBody> = HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/problem+json"))
        .body(serde_json::to_string(&problem.problem()).unwrap_or_default());
    Ok(ErrorHandlerResponse::Response(res.into_response(response).map_into_right_body()))
}

/// Codes: letters, digits, '-', '_' and '.'.
pub fn validate_code(code: &str) -> Result<(), ValidationError> {
    if code.trim().is_empty() || !code.trim().chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ValidationError::new("code")
            .with_message("may hold only letters, digits, '-', '_' and '.'".into()));
    }
    Ok(())
}

/// Names: not blank, no control characters (length is checked in characters).
pub fn validate_name(name: &str) -> Result<(), ValidationError> {
    crate::domain::import::validate_name(name)
        .map_err(|m| ValidationError::new("name").with_message(m.into()))
}

pub fn validate_employee_no(no: &str) -> Result<(), ValidationError> {
    crate::domain::import::validate_employee_no(no.trim())
        .map_err(|m| ValidationError::new("employee_no").with_message(m.into()))
}

/// Tells an absent field (None) from an explicit null (Some(None)).
pub fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
