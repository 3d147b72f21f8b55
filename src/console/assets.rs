//! The console's scripts and styles: embedded in the binary, served under a
//! name that carries a hash of the content, so browsers may keep them for a
//! year and a new build is fetched at once.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::HttpResponse;
use sha2::{Digest, Sha256};

pub struct Asset {
    /// `console.3f2a9c1b.css`: what pages link to.
    pub name: String,
    content_type: &'static str,
    body: &'static [u8],
}

fn asset(stem: &str, extension: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
    let hash = hex::encode(&Sha256::digest(body)[..6]);
    Asset { name: format!("{stem}.{hash}.{extension}"), content_type, body }
}

pub struct Assets {
    pub css: Asset,
    pub js: Asset,
    pub htmx: Asset,
}

pub static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets {
    css: asset("console", "css", "text/css; charset=utf-8", include_bytes!("assets/console.css")),
    js: asset("console", "js", "text/javascript; charset=utf-8", include_bytes!("assets/console.js")),
    htmx: asset("htmx", "js", "text/javascript; charset=utf-8", include_bytes!("assets/htmx.min.js")),
});

/// The answer for `GET /console/assets/{name}`: only the current names exist.
pub fn serve(name: &str) -> Option<HttpResponse> {
    let assets = &*ASSETS;
    let asset = [&assets.css, &assets.js, &assets.htmx].into_iter().find(|a| a.name == name)?;
    Some(
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, asset.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(asset.body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let assets = &*ASSETS;
        assert!(assets.css.name.starts_with("console.") && assets.css.name.ends_with(".css"));
        assert_ne!(assets.js.name, assets.htmx.name);
        assert_eq!(assets.css.name.len(), "console.".len() + 12 + ".css".len());
    }
}
