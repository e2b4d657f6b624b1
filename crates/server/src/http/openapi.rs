//! The served OpenAPI document (`GET /api/openapi.json`): generated from the handlers'
//! `#[utoipa::path]` annotations and the request/response types ([`crate::http::ApiDoc`]),
//! plus what the annotations cannot carry: the bearer scheme and the sync endpoints, whose
//! handlers live in `crate::http::sync` and wire types in `dukkan_core::sync`.

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

/// A path parameter holding a UUID.
fn path_uuid(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(
            Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Uuid,
            )),
        )))
        .build()
}

/// A required JSON request body of `schema`.
fn json_body(schema: ObjectBuilder) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .content("application/json", Content::new(Some(schema)))
        .required(Some(Required::True))
        .build()
}

/// An integer between `min` and `max`.
fn int(min: f64, max: f64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min))
        .maximum(Some(max))
}

/// `PushRequest`, as strict as the server: protocol 1 or 2, at most 200 ops, each with a
/// sequence number from 1 to 2^50 and one of the op kinds.
fn push_body() -> ObjectBuilder {
    use dukkan_core::sync::{MAX_DEVICE_SEQ, MAX_PUSH_BATCH, OLDEST_PROTOCOL_VERSION};
    let kinds = [
        "customer_created",
        "customer_updated",
        "customer_deactivated",
        "customer_reactivated",
        "address_added",
        "address_updated",
        "address_deleted",
        "default_address_set",
        "upgrade_requested",
    ];
    let op = ObjectBuilder::new()
        .property(
            "opId",
            ObjectBuilder::new().schema_type(Type::String).format(Some(
                utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid),
            )),
        )
        .required("opId")
        .property("deviceSeq", int(1.0, MAX_DEVICE_SEQ as f64))
        .required("deviceSeq")
        .property(
            "kind",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(kinds)),
        )
        .required("kind")
        .property("payload", ObjectBuilder::new().schema_type(Type::Object))
        .required("payload")
        .property(
            "staffId",
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::String,
                Type::Null,
            ])),
        )
        .property(
            "at",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(dukkan_core::sync::AT_MAX_CHARS)),
        )
        .required("at");
    ObjectBuilder::new()
        .property(
            "protocol",
            int(
                f64::from(OLDEST_PROTOCOL_VERSION),
                f64::from(dukkan_core::sync::PROTOCOL_VERSION),
            ),
        )
        .required("protocol")
        .property(
            "ops",
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(op)
                .max_items(Some(MAX_PUSH_BATCH)),
        )
        .required("ops")
}

/// A sync operation: device token only, so every one can answer 401 and 429.
fn device_operation(summary: &str, description: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag("sync")
        .summary(Some(summary))
        .description(Some(format!("{description} Device token only.")))
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
        .response("401", error_response("Not a live device token"))
        .response("429", error_response("Rate limited (Retry-After)"))
}

fn query(
    name: &str,
    schema: ObjectBuilder,
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
        .schema(Some(schema))
        .build()
}

impl utoipa::Modify for Additions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let push = device_operation(
            "Push a batch of ops in device order",
            "Body: dukkan_core::sync::PushRequest `{protocol, ops}` (at most 200 ops, 2 MiB). \
             Answer: PushResponse, one result per op.",
        )
        .request_body(Some(json_body(push_body())))
        .response("200", json_response("One result per op"))
        .response("400", error_response("Not JSON"))
        .response("413", error_response("Body too large"))
        .response("415", error_response("Body is not JSON"))
        .response(
            "422",
            error_response("Invalid batch (shape, protocol, size or sequence numbers)"),
        )
        .build();
        let pull = device_operation(
            "Pull the tenant's changes since a cursor (long-poll with wait)",
            "Answer: dukkan_core::sync::PullResponse `{changes, cursor, more}`.",
        )
        .parameter(query(
            "since",
            int(0.0, i64::MAX as f64),
            true,
            "Cursor of the last change applied",
        ))
        .parameter(query(
            "limit",
            int(1.0, dukkan_core::sync::MAX_PULL_PAGE as f64),
            false,
            "Changes per page, 1..1000",
        ))
        .parameter(query(
            "wait",
            int(0.0, dukkan_core::sync::MAX_PULL_WAIT_SECS as f64),
            false,
            "Seconds to wait for a change, 0..25",
        ))
        .response("200", json_response("A page of changes"))
        .response("400", error_response("Invalid query"))
        .build();
        let customer = || {
            path_uuid(
                "customer",
                "The customer whose upgrade was requested (UUID)",
            )
        };
        let no_upgrade = || error_response("No upgrade requested for this customer");
        let resend = device_operation(
            "Send a new code for a queued upgrade (cooldown and caps apply)",
            "Answer: dukkan_core::sync::UpgradeStatus `{customerId, state, errorCode, \
             codeExpiresAt, resendAfter, attemptsLeft, phoneMasked, customer}`; a cooldown \
             or cap is `errorCode` otp.cooldown / otp.rate-limited with `resendAfter`.",
        )
        .parameter(customer())
        .response("200", json_response("Where the upgrade stands"))
        .response("400", error_response("The customer is not a UUID"))
        .response("404", no_upgrade())
        .build();
        let verify = device_operation(
            "Submit the code the customer read out",
            "Body: `{code}`. Answer: UpgradeStatus; a right code makes the stub full with a \
             verified phone (`state` verified, `customer` the new snapshot); a wrong one is \
             `errorCode` otp.invalid with `attemptsLeft`; the third wrong one `failed` \
             (otp.locked); a late one `expired`.",
        )
        .parameter(customer())
        .request_body(Some(json_body(
            ObjectBuilder::new()
                .property("code", ObjectBuilder::new().schema_type(Type::String))
                .required("code")
                .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::<
                    utoipa::openapi::Schema,
                >::FreeForm(false))),
        )))
        .response("200", json_response("Where the upgrade stands"))
        .response("400", error_response("Malformed body or customer id"))
        .response("404", no_upgrade())
        .response("413", error_response("Body too large"))
        .response("415", error_response("Body is not JSON"))
        .response("422", error_response("Body of the wrong shape"))
        .build();
        let staff = device_operation(
            "The tenant's active staff, for sign-in at the till",
            "Answer: dukkan_core::staff::Roster `{staff: [{id, name, role, pinHash}]}`, \
             `pinHash` the argon2id PHC string of the PIN (never the PIN), with a strong \
             `ETag`; send it back as `If-None-Match` to get 304 while nothing changed.",
        )
        .response("200", json_response("The roster"))
        .response(
            "304",
            ResponseBuilder::new()
                .description("Unchanged since the ETag sent")
                .build(),
        )
        .build();
        let one = device_operation(
            "One customer as the server holds it now",
            "Answer: the CustomerSnapshot a pull would carry (with addresses and upgrade \
             state). Devices read a customer again after a person discarded a change the \
             server refused. 404 for an id unknown in the token's tenant.",
        )
        .parameter(path_uuid("id", "The customer (UUID)"))
        .response("200", json_response("The customer"))
        .response("404", error_response("No such customer in this tenant"))
        .build();
        for (path, method, operation) in [
            ("/api/v1/sync/push", HttpMethod::Post, push),
            ("/api/v1/sync/pull", HttpMethod::Get, pull),
            (
                "/api/v1/sync/upgrades/{customer}/resend",
                HttpMethod::Post,
                resend,
            ),
            (
                "/api/v1/sync/upgrades/{customer}/verify",
                HttpMethod::Post,
                verify,
            ),
            ("/api/v1/sync/customers/{id}", HttpMethod::Get, one),
            ("/api/v1/sync/staff", HttpMethod::Get, staff),
        ] {
            openapi
                .paths
                .paths
                .insert(path.into(), PathItem::new(method, operation));
        }
    }
}
