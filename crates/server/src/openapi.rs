//! The served OpenAPI document (`GET /api/openapi.json`): generated from the handlers'
//! `#[utoipa::path]` annotations and the request/response types ([`crate::http::ApiDoc`]),
//! plus what the annotations cannot carry: the bearer scheme and the sync endpoints, whose
//! handlers and wire types live in `crate::sync` and `dukkan_core::sync`.

use std::sync::OnceLock;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, ObjectBuilder, OpenApi, PathItem, Ref, Required, ResponseBuilder, Type,
};
use utoipa::OpenApi as _;

/// The document, built once.
pub fn document() -> OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(crate::http::ApiDoc::openapi).clone()
}

/// Adds the bearer scheme and the sync endpoints to the generated document.
pub struct Additions;

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
}

fn json_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(ObjectBuilder::new())))
        .build()
}

fn query(
    name: &str,
    ty: Type,
    required: bool,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(ty)))
        .build()
}

impl utoipa::Modify for Additions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let device = SecurityRequirement::new("bearer", Vec::<String>::new());
        let push = OperationBuilder::new()
            .tag("sync")
            .summary(Some("Push a batch of ops in device order"))
            .description(Some(
                "Body: dukkan_core::sync::PushRequest `{protocol, ops}` (at most 200 ops, 2 MiB). \
                 Answer: PushResponse, one result per op. Device token only.",
            ))
            .security(device.clone())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", Content::new(Some(ObjectBuilder::new())))
                    .required(Some(Required::True))
                    .build(),
            ))
            .response("200", json_response("One result per op"))
            .response("401", error_response("Not a live device token"))
            .response("413", error_response("Body too large"))
            .response("422", error_response("Invalid batch"))
            .response("429", error_response("Rate limited (Retry-After)"))
            .build();
        let pull = OperationBuilder::new()
            .tag("sync")
            .summary(Some("Pull the tenant's changes since a cursor (long-poll with wait)"))
            .description(Some(
                "Answer: dukkan_core::sync::PullResponse `{changes, cursor, more}`. Device token only.",
            ))
            .security(device.clone())
            .parameter(query("since", Type::Integer, true, "Cursor of the last change applied"))
            .parameter(query("limit", Type::Integer, false, "Changes per page, 1..1000"))
            .parameter(query("wait", Type::Integer, false, "Seconds to wait for a change, 0..25"))
            .response("200", json_response("A page of changes"))
            .response("400", error_response("Invalid query"))
            .response("401", error_response("Not a live device token"))
            .response("429", error_response("Rate limited (Retry-After)"))
            .build();
        openapi.paths.paths.insert(
            "/api/v1/sync/push".into(),
            PathItem::new(HttpMethod::Post, push),
        );
        openapi.paths.paths.insert(
            "/api/v1/sync/pull".into(),
            PathItem::new(HttpMethod::Get, pull),
        );
        let customer = || {
            ParameterBuilder::new()
                .name("customer")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The customer whose upgrade was requested (UUID)"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        };
        let resend = OperationBuilder::new()
            .tag("sync")
            .summary(Some(
                "Send a new code for a queued upgrade (cooldown and caps apply)",
            ))
            .description(Some(
                "Answer: dukkan_core::sync::UpgradeStatus `{customerId, state, errorCode, \
                 codeExpiresAt, resendAfter, attemptsLeft, phoneMasked, customer}`; a cooldown \
                 or cap is `errorCode` otp-cooldown / otp-rate-limited with `resendAfter`. \
                 Device token only.",
            ))
            .security(device.clone())
            .parameter(customer())
            .response("200", json_response("Where the upgrade stands"))
            .response("401", error_response("Not a live device token"))
            .response(
                "404",
                error_response("No upgrade requested for this customer"),
            )
            .response("429", error_response("Rate limited (Retry-After)"))
            .build();
        let verify = OperationBuilder::new()
            .tag("sync")
            .summary(Some("Submit the code the customer read out"))
            .description(Some(
                "Body: `{code}`. Answer: UpgradeStatus; a right code makes the stub full with a \
                 verified phone (`state` verified, `customer` the new snapshot); a wrong one is \
                 `errorCode` otp-invalid with `attemptsLeft`; the third wrong one `failed` \
                 (otp-locked); a late one `expired`. Device token only.",
            ))
            .security(device.clone())
            .parameter(customer())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", Content::new(Some(ObjectBuilder::new())))
                    .required(Some(Required::True))
                    .build(),
            ))
            .response("200", json_response("Where the upgrade stands"))
            .response("400", error_response("Malformed body"))
            .response("401", error_response("Not a live device token"))
            .response(
                "404",
                error_response("No upgrade requested for this customer"),
            )
            .response("413", error_response("Body too large"))
            .response("429", error_response("Rate limited (Retry-After)"))
            .build();
        openapi.paths.paths.insert(
            "/api/v1/sync/upgrades/{customer}/resend".into(),
            PathItem::new(HttpMethod::Post, resend),
        );
        openapi.paths.paths.insert(
            "/api/v1/sync/upgrades/{customer}/verify".into(),
            PathItem::new(HttpMethod::Post, verify),
        );
        let staff_security = device;
        let staff = OperationBuilder::new()
            .tag("sync")
            .summary(Some("The tenant's active staff, for sign-in at the till"))
            .description(Some(
                "Answer: dukkan_core::staff::Roster `{staff: [{id, name, role, pinHash}]}`, \
                 `pinHash` the argon2id PHC string of the PIN (never the PIN), with a strong \
                 `ETag`; send it back as `If-None-Match` to get 304 while nothing changed. \
                 Device token only.",
            ))
            .security(staff_security.clone())
            .response("200", json_response("The roster"))
            .response(
                "304",
                ResponseBuilder::new()
                    .description("Unchanged since the ETag sent")
                    .build(),
            )
            .response("401", error_response("Not a live device token"))
            .response("429", error_response("Rate limited (Retry-After)"))
            .build();
        let one = OperationBuilder::new()
            .tag("sync")
            .summary(Some("One customer as the server holds it now"))
            .description(Some(
                "Answer: the CustomerSnapshot a pull would carry (with addresses and upgrade \
                 state). Devices read a customer again after a person discarded a change the \
                 server refused. 404 for an id unknown in the token's tenant. Device token only.",
            ))
            .security(staff_security)
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("The customer (UUID)"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            )
            .response("200", json_response("The customer"))
            .response("401", error_response("Not a live device token"))
            .response("404", error_response("No such customer in this tenant"))
            .response("429", error_response("Rate limited (Retry-After)"))
            .build();
        openapi.paths.paths.insert(
            "/api/v1/sync/customers/{id}".into(),
            PathItem::new(HttpMethod::Get, one),
        );
        openapi.paths.paths.insert(
            "/api/v1/sync/staff".into(),
            PathItem::new(HttpMethod::Get, staff),
        );
    }
}
