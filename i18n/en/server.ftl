## Tenant server errors that dukkan-core's i18n/ files do not have yet.
## To be moved into i18n/{en,ar}/ (see crates/server/src/messages.rs).

server-error-unauthenticated = Sign in to continue.
server-error-invalid-credentials = The shop, staff member or PIN is not correct.
server-error-forbidden = Your role does not allow this action.
server-error-not-found = This record does not exist.
server-error-route-not-found = There is no such address on this server.
server-error-malformed-json = The request body is not valid JSON.
server-error-invalid-body = The request body has a missing field, a field of the wrong type or an unknown value.
server-error-unsupported-media-type = Send the request body as JSON (Content-Type: application/json).
server-error-payload-too-large = The request body is too large.
server-error-invalid-path = The address names a record with an invalid id.
server-error-invalid-query = The search parameters are not valid.
server-error-method-not-allowed = This method is not allowed here.
server-error-timeout = The server took too long to answer. Try again.
server-error-internal = Something went wrong on the server. Nothing was saved.
server-error-unavailable = The server cannot reach its database right now.
server-error-id-taken = A customer with this id already exists.
server-error-otp-required = A full profile needs the phone to be verified with a code first.
server-error-guest-contact = A walk-in customer has no phone or email. Create a stub instead.
server-error-kind-change = The customer type cannot be changed this way.
server-error-address-limit = This customer already has the maximum number of addresses.
server-error-enrollment-code-invalid = This enrollment code is not valid, has expired or was already used.
server-error-invalid-pin = The PIN must have between { $min } and { $max } characters.
server-error-invalid-slug = The shop code must be 2 to 63 lower-case letters, digits or dashes.
server-error-tenant-exists = A shop with this code already exists.
server-error-default-required = A customer with addresses always has one default address. Choose another address as the default instead.
server-error-otp-cooldown = A code was sent moments ago. Wait { $seconds } seconds before asking again.
server-error-otp-rate-limited = Too many codes were requested. Try again later.
server-error-otp-invalid = This code is not correct.
server-error-otp-expired = This code has expired. Ask for a new one.
server-error-otp-locked = Too many wrong codes. Ask for a new one.
server-error-sms-failed = The text message could not be sent. Try again.
server-error-phone-not-verified = Verify the phone with a code first.
server-otp-sms = Your Dukkan verification code is { $code }. It expires in 5 minutes. Do not share it.
server-error-rate-limited = Too many requests. Try again in { $seconds } seconds.
server-error-sign-in-locked = Too many wrong PINs. Sign-in is locked; try again in { $minutes } minutes.
