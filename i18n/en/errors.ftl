## Errors shown to people. Each id is the Fluent form of a stable error code.
## $field is the localised label of the field concerned.

error-required = { $field } is required.
error-too-long = { $field } must be at most { $max } characters.
error-control-character = { $field } contains a character that cannot be typed (a control character).
error-bidi-control = { $field } contains a hidden text-direction character. Please type it again.
error-invalid-phone = This phone number is not valid. Check the digits and the country code.
error-invalid-email = This email address is not valid.
error-out-of-range = { $field } is out of range.
error-not-a-number = { $field } must be a number, for example 23.5880.
error-incomplete-gps = Give both latitude and longitude, or neither.
error-invalid-country = Choose a country from the list.
error-invalid-customer-number = This is not a customer number (example: CUST-00012).
error-not-found = This record no longer exists on this device.
error-customer-inactive = This customer has been deactivated.
error-guest-cannot-upgrade = A walk-in customer needs a name and phone before the profile can be upgraded.
error-already-full = This customer already has a full profile.
error-verified-phone-locked = A verified phone number cannot be changed at the counter.
error-phone-taken = Another active customer already has this phone number.
error-upgrade-already-requested = An upgrade is already waiting for this customer.
error-database-too-new = This database was written by a newer version of Dukkan ({ $found }). Update the app.
error-storage = The local database could not complete the action. Nothing was saved.
error-unsynced-ops = { $pending } changes have not reached the server yet. Sync first, or force the reset to lose them.
error-enrollment-refused = The server refused this enrollment code. Check the shop name and the code, or ask for a new code.
error-server-unreachable = The server could not be reached. Check the address and the network.

field-first-name = First name
field-last-name = Last name
field-name2 = Arabic name
field-phone = Phone
field-email = Email
field-label = Label
field-building = Building
field-floor = Floor
field-apartment = Apartment
field-street = Street
field-area = Area
field-city = City
field-country = Country
field-postal-code = Postal code
field-latitude = Latitude
field-longitude = Longitude
field-delivery-notes = Delivery notes
field-fragrance = Fragrance
field-customer-number = Customer number
field-query = Search
