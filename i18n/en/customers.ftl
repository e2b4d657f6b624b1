## Customers: kinds, defaults, and the CSV export.

customer-guest-name = Walk-in customer
customer-kind-guest = Guest
customer-kind-stub = Stub
customer-kind-full = Full
customer-number-pending = Pending number
customer-number-at-first-order = No number until a first order

export-column-number = Customer Number
export-column-name = Name
export-column-phone = Phone
export-column-email = Email
export-column-type = Type
export-column-orders = Total Orders
export-column-points = Loyalty Points
export-column-joined = Joined Date
export-column-name2 = Arabic Name
export-column-status = Status
export-column-spent = Total Spent (OMR)
export-status-active = Active
export-status-inactive = Inactive
export-status-merged = Merged
export-sheet-name = Customers
