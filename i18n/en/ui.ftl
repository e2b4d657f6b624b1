## The desktop app's own text: navigation, the counter, the customer list and detail screens.

app-title = Dukkan
app-language-switch = العربية
    .title = Switch the app to Arabic
app-nav-label = Screens
nav-counter = Counter
nav-customers = Customers
shortcut-hint = { $key }

counter-search-label = Find a customer
counter-search-placeholder = Phone, last 4 digits, name or customer number
counter-search-hint = Type to search. ↑ ↓ to choose, Enter to open.
counter-no-results = No customer matches “{ $query }”.
counter-no-results-hint = Press F2 to add them as a new customer.
counter-results-label = Search results
counter-new-customer = New customer
counter-guest = Walk-in (guest)
counter-open = Open

stub-title = New customer
stub-country-code = Country code
stub-save = Save
stub-cancel = Cancel
stub-save-hint = Enter saves · Esc cancels
stub-optional = optional

country-om = Oman
country-ae = United Arab Emirates
country-sa = Saudi Arabia
country-qa = Qatar
country-bh = Bahrain
country-kw = Kuwait
country-in = India
country-pk = Pakistan

confirm-created = Customer saved
confirm-guest = Walk-in customer started
confirm-existing = This phone number already belongs to a customer
confirm-existing-hint = Use this customer instead of creating a duplicate.
confirm-use-existing = Use this customer
confirm-back = Back to the form
confirm-new-search = New search
confirm-open = Open profile

customer-number-label = Customer #
customer-name = Name
customer-phone = Phone
customer-type = Type
customer-orders = Orders
customer-points = Points
customer-last-order = Last order
customer-sync = Sync state
customer-inactive = Inactive
customer-no-phone = No phone

sync-state-pending = Waiting to sync
sync-state-synced = Synced
sync-state-parked = Needs attention

list-title = Customers
list-filter-type = Type
list-filter-type-all = All types
list-filter-active = Status
list-filter-active-only = Active
list-filter-inactive-only = Inactive
list-filter-all = All
list-filter-unsynced = Only not yet synced
list-search-label = Search the list
list-export = Export CSV
list-exported = { $rows ->
    [one] Exported 1 customer to { $path }
   *[other] Exported { $rows } customers to { $path }
}
list-deactivate = Deactivate
list-deactivate-confirm = Deactivate { $name }? They will no longer appear at the counter.
list-deactivate-yes = Yes, deactivate
list-deactivate-no = Keep active
list-deactivated = { $name } was deactivated.
list-empty = No customers match these filters.
list-loaded = { $count ->
    [one] 1 customer shown
   *[other] { $count } customers shown
}
list-more = more below

detail-back = Back
detail-tab-profile = Profile
detail-tab-addresses = Addresses
detail-tab-preferences = Preferences
detail-save = Save changes
detail-saved = Saved.
detail-deactivate = Deactivate customer
detail-since = Customer since { $date }

address-add = Add address
address-edit = Edit
address-delete = Delete
address-delete-confirm = Delete this address?
address-delete-yes = Yes, delete
address-make-default = Make default
address-default = Default
address-none = No addresses yet.
address-save = Save address
address-cancel = Cancel
address-type = Address type
address-type-home = Home
address-type-work = Work
address-type-other = Other

pref-folding = Clothes
pref-folding-none = No preference
pref-folding-hang = Hang
pref-folding-fold = Fold
pref-eco = Eco-friendly packaging
pref-channels = Notify by
pref-channel-whatsapp = WhatsApp
pref-channel-sms = SMS
pref-channel-email = Email
pref-save = Save preferences

error-unexpected = Something went wrong: { $detail }

# Upgrade to a full profile (phone verified by a code)
upgrade-title = Full profile
upgrade-start = Upgrade to full profile
upgrade-again = Ask again
upgrade-submit = Request the code
upgrade-sms-language = Language of the text message
upgrade-offline-note = Works offline: the code is texted to the customer as soon as the device reaches the server.
upgrade-waiting-for-sync = Queued. The code is texted as soon as this device is online.
upgrade-sending = Sending the code…
upgrade-sending-in = The code can be sent in { $seconds } s.
upgrade-code-sent = Code sent to
upgrade-code-label = 6-digit code
upgrade-verify = Verify
upgrade-resend = Send a new code
upgrade-resend-in = New code in { $seconds } s
upgrade-wrong-code = { $left ->
    [one] Wrong code. 1 attempt left.
   *[other] Wrong code. { $left } attempts left.
}
upgrade-bad-code = That is not the code that was sent.
upgrade-no-code = No code is waiting. Send a new code.
upgrade-wait-to-send = A code was sent moments ago; wait before sending another.
upgrade-verified = Verified: this customer has a full profile.
upgrade-failed-sms = The text message could not be sent. Check the phone number, then send a new code.
upgrade-failed-locked = Too many wrong codes. Send a new code.
upgrade-failed = The upgrade did not go through. Send a new code.
upgrade-expired = The code has expired. Send a new code.
