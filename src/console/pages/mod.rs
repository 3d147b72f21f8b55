//! The console's pages, by who uses them.

mod account;
mod nominate;
mod review;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(account::home))
        .route("/login", web::get().to(account::login_form))
        .route("/login", web::post().to(account::login))
        .route("/activate", web::get().to(account::activate_form))
        .route("/activate", web::post().to(account::activate))
        .route("/logout", web::post().to(account::logout))
        .route("/lang/{tag}", web::get().to(account::switch_lang))
        .route("/campaigns/{id}", web::get().to(nominate::campaign))
        .route("/campaigns/{id}/nominations/new", web::get().to(nominate::new_form))
        .route("/campaigns/{id}/nominations", web::post().to(nominate::create))
        .route("/campaigns/{id}/staff", web::get().to(nominate::staff))
        .route("/nominations/{id}", web::get().to(nominate::edit_form))
        .route("/nominations/{id}", web::post().to(nominate::change))
        .route("/rounds/{id}", web::get().to(review::queue))
        .route("/rounds/{id}/entries/{nomination_id}", web::get().to(review::entry))
        .route("/rounds/{id}/entries/{nomination_id}", web::post().to(review::save));
}
