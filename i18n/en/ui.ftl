## The desktop app's own text: navigation, the counter, the customer list and detail screens.

app-title = Dukkan
app-already-open = Dukkan is already open on this till: here it is.
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
confirm-order = Take an order

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
list-filter-type-all = All but guests
list-filter-active = Status
list-filter-active-only = Active
list-filter-inactive-only = Inactive
list-filter-all = All
list-filter-unsynced = Only not yet synced
list-search-label = Search the list
list-export = Export CSV
list-export-xlsx = Export Excel
list-exported = { $rows ->
    [one] Exported 1 customer to { $path }
   *[other] Exported { $rows } customers to { $path }
}
list-deactivate = Deactivate
list-deactivate-confirm = Deactivate { $name }? They will no longer appear at the counter.
list-deactivate-yes = Yes, deactivate
list-deactivate-no = Keep active
list-deactivated = { $name } was deactivated.
list-reactivate = Reactivate
list-reactivated = { $name } is active again.
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

## Sync indicator and the parked-operations panel.

nav-settings = Settings
sync-indicator-label = Sync status: { $state }. Open the sync panel.
sync-online = Online
sync-offline = Offline
sync-not-enrolled = Not enrolled
sync-pending = { $count ->
    [one] 1 change waiting
   *[other] { $count } changes waiting
}
sync-all-sent = All changes sent
sync-parked = { $count ->
    [one] 1 needs attention
   *[other] { $count } need attention
}
sync-last-success = Last sync { $time }
sync-never = Never synced
sync-panel-title = Sync
sync-panel-close = Close
sync-panel-not-enrolled = This till works on its own until it is enrolled with the shop's server (Settings).
sync-problem-network = The server cannot be reached. Changes are kept on this till and sent when it is back.
sync-problem-untrusted = The server's certificate is not trusted: nothing is sent until this is fixed. Changes are kept on this till.
sync-problem-http = The server answered with an error ({ $status }). Sync will try again.
sync-problem-other = Sync stopped on a problem ({ $code }). It will try again.
sync-parked-title = Changes the server refused
sync-parked-none = No refused changes.
sync-parked-hint = Fix what the server refused (for example, free the phone number), then retry. Discarding removes the change from this till for good.
sync-parked-when = Made { $time }
sync-parked-unknown = The server refused this change (code { $code }).
sync-retry = Retry
sync-discard = Discard
sync-discard-confirm = Discard this change? It will never reach the server.
sync-discard-yes = Yes, discard
sync-discard-no = Keep it
sync-retried = The change was queued again.
sync-discarded = The change was discarded.
sync-open-customer = Open customer

op-customer-created = Customer created
op-customer-updated = Profile changed
op-customer-deactivated = Customer deactivated
op-customer-reactivated = Customer reactivated
op-address-added = Address added
op-address-updated = Address changed
op-address-deleted = Address deleted
op-default-address-set = Default address changed
op-upgrade-requested = Upgrade to full requested

## Settings.

settings-title = Settings
settings-language = Language
settings-enrollment = Device enrollment
settings-enrolled = Enrolled with the server
settings-not-enrolled = Not enrolled. The till works fully on its own; enroll it to share customers with the shop's server.
field-server-url = Server address
field-tenant = Shop code
field-enrollment-code = One-time code
settings-enroll = Enroll this till
settings-enrolled-done = Enrolled. Sync has started.
settings-reset = Reset enrollment
settings-reset-hint = Signs this till out of the shop's server. Customers stay on this till.
settings-reset-warning = { $pending ->
    [one] 1 change has not reached the server. Resetting now loses it for good.
   *[other] { $pending } changes have not reached the server. Resetting now loses them for good.
}
settings-reset-force = Reset anyway and lose them
settings-reset-cancel = Cancel
settings-reset-done = Enrollment reset. The till works on its own.
settings-protection = Data protection
settings-protection-credential-store = Customer data on this till is encrypted. Its key is kept in this computer's credential store, so a copy of the data opens nowhere else.
settings-protection-file = This computer has no credential store, so the key to this till's encrypted data is kept in a file only this computer account can read: { $path }. Anyone signed in to this account can read the data. Set up a credential store (Windows Credential Manager, GNOME Keyring or KWallet) to protect it.
settings-protection-unencrypted = This till's data is not encrypted.
settings-store = Store location
settings-store-hint = Used to show how far each delivery address is from the store. Decimal degrees, for example 23.5880 and 58.3829.
settings-store-save = Save location
settings-store-clear = Clear location
settings-store-saved = Store location saved.
settings-store-cleared = Store location cleared.
settings-store-none = No store location yet.
settings-store-current = Saved location
settings-backup = Backup and restore
settings-backup-hint = A backup holds all of this till's data: customers, orders, changes not yet sent, the staff list and the link to the shop's server. It is encrypted with a passphrase you choose. Keep the passphrase apart from the file: without it the backup cannot be restored, and with it anyone can read it.
field-backup-passphrase = Backup passphrase (at least 10 characters)
field-backup-passphrase-again = The passphrase again
field-backup-file = Backup file (full path)
settings-backup-make = Back up now
settings-backup-working = Backing up…
settings-backup-passphrases-differ = The two passphrases are not the same. Type them again.
settings-backup-done = Backup saved:
settings-backup-counts = { $customers ->
    [one] One customer
   *[other] { $customers } customers
}, { $pending ->
    [0] every change already sent to the server.
    [one] one change not yet sent to the server.
   *[other] { $pending } changes not yet sent to the server.
}
settings-restore = Restore from a backup
settings-restore-hint = Type or paste the full path of a .dukkan-backup file (on this computer or a USB stick) and its passphrase. This till then becomes the till that was backed up: it sends what the backup had not sent and fetches what changed since.
settings-restore-start = Restore…
settings-restore-warning = This replaces the data on this till with the backup's, and the app restarts.
settings-restore-unsent = { $pending ->
    [one] One change made on this till has not reached the server and will be replaced too.
   *[other] { $pending } changes made on this till have not reached the server and will be replaced too.
}
settings-restore-confirm = Replace and restart
settings-restore-done = The backup of { $date } ({ $customers ->
    [one] one customer
   *[other] { $customers } customers
}) is restored. The app restarts now…

## Distances and the Activity tab of a customer.

distance-km = { NUMBER($km, minimumFractionDigits: 1, maximumFractionDigits: 1) } km from the store
distance-m = { NUMBER($m, maximumFractionDigits: 0) } m from the store

detail-tab-activity = Activity
activity-audit-title = Changes
activity-sync-title = Sync history
activity-when = When
activity-who = Who
activity-action = Action
activity-fields = Fields
activity-state = State
activity-none = Nothing recorded yet.
activity-nobody = No one signed in
activity-former-staff = Former staff member ({ $id })
activity-state-pending = Waiting to send
activity-state-parked = Refused by the server
activity-state-acknowledged = Acknowledged by the server
activity-attempts = { $count ->
    [one] 1 attempt
   *[other] { $count } attempts
}
activity-field-kind = Type
activity-field-preferences = Preferences
activity-field-upgrade = Upgrade
activity-field-deleted = Deleted
activity-field-default = Default address
activity-field-active = Active
activity-field-gps = GPS
activity-field-address-type = Address type
language-name-en = English
language-name-ar = العربية
list-separator = {", "}
settings-manager-only = Only a manager can change this. Ask one to sign in.
owner-title = Set up this till
owner-hint = This till is not connected to a shop server yet. Choose the owner's PIN (at least 6 digits): the till asks for it whenever it starts, so nobody who walks up to it can see your customers.
owner-pin = Owner's PIN
owner-pin-again = The PIN again
owner-pin-mismatch = The two PINs are not the same. Type it again.
owner-submit = Save and start
signin-title = Sign in
signin-hint = This till belongs to the shop's staff. Choose your name and type your PIN. It works offline too.
signin-who = Who is at the till?
signin-pin = PIN
signin-submit = Sign in
signin-choose-first = Choose your name first.
signin-sign-out = Sign out

## A till whose data cannot be opened at start
startup-problem-title = This till's data cannot be opened
startup-problem-nothing-changed = Nothing has been changed or deleted. Close Dukkan and call your manager or administrator; this screen says what they need to know.
startup-problem-store = Data file:
startup-problem-code = Problem code:

# Orders and loyalty (detail page, Orders tab)
detail-tab-orders = Orders
orders-amount = { $amount } OMR
orders-summary = { $count ->
    [one] One order
   *[other] { $count } orders
  } · { $spent } spent · { $points } points
orders-last = Last order: { $when }
orders-none = No orders yet.
orders-new = New order
orders-ticket-hint = Leave empty for { $ticket }
orders-record = Record order
orders-recorded = Order { $ticket } recorded: { $amount }, { $points } points.
orders-when = When
orders-pieces-count = { $count ->
    [one] 1 piece
   *[other] { $count } pieces
  }
orders-points-earned = +{ $points } points
points-adjust-title = Adjust points
points-adjust-hint = A positive number adds points, a negative one takes them away.
points-adjust-save = Adjust points
points-adjusted = Points now: { $points }.
op-order-recorded = Order recorded
op-points-adjusted = Points adjusted
activity-field-orders = Orders
activity-field-loyalty-points = Points

## The Activity tab's section from the shop's server (managers, while connected).
activity-server-title = On the server
activity-server-hint = The customer's history as the shop's server holds it, from every till. Shown only while connected.
activity-server-loading = Asking the server…
activity-server-offline = The server cannot be reached now, so its history is not shown. This till's own changes are above.
activity-server-failed = The server's history could not be read: { $reason }
activity-server-unknown = The server does not know this customer yet: their changes have not been sent.
activity-till = Till
activity-merges-title = Merges
activity-merge-into = Merged into another customer ({ $id })
activity-merge-from = Duplicate ({ $id }) merged into this customer
activity-merge-moved = Orders moved: { $orders } · Points moved: { $points }
activity-merge-reason = Reason: { $reason }
activity-field-all = All fields
activity-field-is-active = Active
activity-field-merged-into = Merged into
activity-field-phone-verified = Phone verified
activity-field-addresses = Addresses
activity-field-default-address = Default address
activity-field-type = Type
server-action-create = Customer created
server-action-update = Profile changed
server-action-deactivate = Customer deactivated
server-action-reactivate = Customer reactivated
server-action-address = Addresses changed
server-action-merge = Merged a duplicate
server-action-merge-source = Merged into another customer
server-action-merge-target = Kept in a merge
server-action-merge-move = Moved in a merge
server-action-order = Order recorded
server-action-points = Points adjusted
server-action-retire = Retired (long inactive)
server-action-upgrade = Upgraded to full
server-action-upgrade-requested = Upgrade to full requested
server-action-upgrade-state = Upgrade progressed
server-action-verify-phone = Phone verified

## Merging duplicates (managers): the Duplicates view, the merge preview, and each customer's merge log.
list-find-duplicates = Find duplicates
duplicates-title = Likely duplicates
duplicates-hint = Customers who look like the same person: the same phone number, or the same name with phone numbers one digit apart. Check each pair before merging; a merge can be undone for 24 hours.
duplicates-loading = Looking for duplicates…
duplicates-none = No likely duplicates among this till's customers.
duplicates-count = { $count ->
    [one] 1 pair to check
   *[other] { $count } pairs to check
}
duplicates-refresh = Look again
duplicates-reason-same-phone = Same phone number
duplicates-reason-same-name-near-phone = Same name, phone numbers one digit apart
duplicates-keep = Suggested to keep
duplicates-duplicate = Duplicate
duplicates-spent = Spent
duplicates-phone-verified = Verified
duplicates-review = Review merge
duplicates-review-label = Review merging { $duplicate } into { $keep }
merge-title = Merge { $duplicate } into { $keep }?
merge-title-plain = Merge two customers
merge-loading = Working out what would move…
merge-stays = Stays
merge-goes = Merged in, then inactive
merge-moves-title = What moves to { $keep }
merge-orders = Orders
merge-spent = Spend
merge-points = Points
merge-addresses = Addresses
merge-fields = Details taken over
merge-fields-none = None
merge-kind-after = Type after the merge
merge-verified-warning = { $duplicate } has a verified phone number, but { $keep } keeps its own phone, so the verified number would not be kept. Swap to keep { $duplicate } instead.
merge-swap = Swap: keep the other one
merge-reason-hint = Required: why these are the same person (one line, at most { $max } characters). It is kept in the merge log.
merge-confirm = Merge
merge-cancel = Cancel
merge-done = { $duplicate } was merged into { $keep }.
merge-moved = Orders moved: { $orders } · Points moved: { $points } · Addresses moved: { $addresses }
merge-undo-window = A manager can undo it for 24 hours, here or in the Activity tab of either customer.
merge-undo = Undo merge
merge-undone = Merge undone: { $name } is a separate, active customer again.
merge-open-kept = Open { $name }
merge-log-title = Merges on this till
merge-log-hint = A manager can undo a merge for 24 hours.
merge-log-into = Merged into { $name }
merge-log-from = { $name } merged into this customer
merge-log-by = By { $name }
merge-log-undone = Undone { $when }
merge-log-undo-closed = Can no longer be undone (more than 24 hours ago).
merge-log-undo-confirm = Undo this merge? { $name } becomes a separate, active customer again, and what moved goes back.
merge-log-undo-yes = Yes, undo it
merge-log-undo-no = Keep the merge
op-customer-merged = Customers merged
op-merge-undone = Merge undone

## Updates (Settings)
settings-updates = Updates
settings-updates-version = This is Dukkan { $version }.
settings-updates-feed = New versions come from
settings-updates-feed-till = set on this till
settings-updates-feed-server = announced by the shop's server
settings-updates-no-feed = No update address is set: this till does not look for new versions.
settings-updates-check = Check for updates
settings-updates-feed-save = Save update address
settings-updates-feed-clear = Forget this till's address
settings-updates-feed-saved = Update address saved. Dukkan is checking it now.
settings-updates-hint = Dukkan installs only versions signed by its makers. A new version is downloaded in the background and starts the next time Dukkan is opened; customers and unsent changes stay as they are.
update-state-no-key = This copy of Dukkan carries no update key, so it cannot update itself.
update-state-no-feed = Set an update address to look for new versions.
update-state-idle = Not checked since Dukkan started.
update-state-checking = Checking for a new version…
update-state-up-to-date = Dukkan is up to date.
update-state-downloading = Downloading version { $version } in the background…
update-state-ready = Version { $version } is ready. It starts the next time Dukkan is opened.
update-state-package-manager = Version { $version } is out. On this computer Dukkan is updated through the system's package manager: ask your administrator.
update-state-failed = The last check did not complete.
update-state-refused = The update was refused and nothing was installed.
error-update-signature = Its signature does not match this app's key (or names another version). Tell your administrator: the update feed may have been tampered with.
error-update-format = The download is not a Dukkan package for this computer.
error-update-no-build = The update feed has no version for this computer.
error-update-insecure-feed = The update address must start with https://.
error-update-unreachable = The update feed could not be reached. Dukkan tries again later.
error-update-install = The new version could not be put in place (the app's file cannot be replaced). Ask your administrator.
error-update-failed = The update did not complete. Dukkan tries again later.
