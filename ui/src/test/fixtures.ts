import type { Customer } from "../bindings/Customer";

let n = 0;

/** A customer as the shell returns it, with overrides. */
export function customer(over: Partial<Customer> = {}): Customer {
  n += 1;
  return {
    id: `0190a0b0-0000-7000-8000-${String(n).padStart(12, "0")}`,
    customerNumber: null,
    kind: "stub",
    firstName: "Ahmed",
    lastName: null,
    name2: null,
    phone: "+96890123456",
    email: null,
    phoneVerified: false,
    preferences: null,
    loyaltyPoints: 0,
    orderCount: 0,
    totalSpentMinor: 0,
    lastOrderAt: null,
    active: true,
    mergedInto: null,
    defaultAddressId: null,
    syncState: "pending",
    createdAt: "2026-11-25T10:00:00.000Z",
    updatedAt: "2026-11-25T10:00:00.000Z",
    ...over,
  };
}
