//! `GET /api/v1/sync/staff`: the tenant's staff roster for its devices, so staff sign in at a
//! till with their PIN offline. Device token only; the tenant comes from the token.
//!
//! The roster carries each member's argon2id PIN hash (salted, slow on purpose), never a PIN.
//! It is answered with a strong `ETag` (SHA-256 of the body); a device sends it back as
//! `If-None-Match` on every sync round and gets `304 Not Modified` while nothing changed.

use crate::error::Error;
use crate::sync::DeviceActor;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Path of the roster endpoint under `/api/v1/sync`.
pub const PATH: &str = "/staff";

fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// True when `If-None-Match` names `tag` (or is `*`).
fn matches(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

async fn staff_handler(
    axum::extract::State(s): axum::extract::State<crate::AppState>,
    device: DeviceActor,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let roster = crate::staff::roster(&s.pool, device.tenant).await?;
    let body = serde_json::to_vec(&roster).map_err(|e| Error::Internal(e.to_string()))?;
    let tag = etag(&body);
    let tag_value = HeaderValue::from_str(&tag).map_err(|e| Error::Internal(e.to_string()))?;
    let no_store = HeaderValue::from_static("private, no-store");
    if matches(&headers, &tag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, tag_value), (header::CACHE_CONTROL, no_store)],
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (header::ETAG, tag_value),
            (header::CACHE_CONTROL, no_store),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response())
}

/// The roster route, nested at `/api/v1/sync` beside the other sync routes.
pub fn routes() -> axum::Router<crate::AppState> {
    axum::Router::new().route(PATH, axum::routing::get(staff_handler))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_matches_the_tag_in_a_list_weak_or_star_but_not_another_tag() {
        let tag = etag(b"{}");
        let mut h = HeaderMap::new();
        assert!(!matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!matches(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"a\", W/{tag}")).unwrap(),
        );
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&h, &tag));
    }

    #[test]
    fn the_etag_changes_with_the_body() {
        assert_ne!(etag(b"{\"staff\":[]}"), etag(b"{\"staff\":[1]}"));
        assert_eq!(etag(b"x"), etag(b"x"));
    }
}
