//! The served OpenAPI document (`GET /api/openapi.json`): generated from one source, the
//! handlers' `#[utoipa::path]` annotations (REST in `crate::http::rest`, sync in
//! `crate::http::sync`) and the request/response types they name, the sync wire types
//! included (`dukkan_core::sync`, `dukkan_core::ops`, with core's `openapi` feature). The only
//! addition is the bearer scheme every operation refers to.

use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::OpenApi as _;

/// The document, built once.
pub fn document() -> OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(crate::http::ApiDoc::openapi).clone()
}

/// Adds the bearer scheme (staff session tokens and device tokens alike).
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}
