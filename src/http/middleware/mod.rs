//! Middleware around every request: its head, its headers, its connection.

pub mod connections;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{DefaultHeaders, Next};

/// HEAD is GET without the body (RFC 9110, 9.3.2), so every GET route
/// answers it: the request is routed as GET, and actix-http, which read HEAD
/// off the wire, sends the answer's head only (Content-Length included).
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Headers on every answer, errors included (a handler's own value wins):
/// answers carry personal data and tokens, so nothing is cached or sniffed,
/// no page of ours can be framed, and no address leaks to other sites.
/// Strict-Transport-Security belongs to the TLS-terminating proxy.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ))
}
