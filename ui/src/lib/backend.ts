// The one typed interface between the UI and the desktop shell. Components receive a Backend
// (see context.ts) and never call `invoke` themselves, so tests can run against mockIPC or a
// hand-written implementation.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { AddressDistance } from "../bindings/AddressDistance";
import type { BackupInfo } from "../bindings/BackupInfo";
import type { CustomerActivity } from "../bindings/CustomerActivity";
import type { EngineStatus } from "../bindings/EngineStatus";
import type { EnrollmentInfo } from "../bindings/EnrollmentInfo";
import type { GeoPoint } from "../bindings/GeoPoint";
import type { KeyPlace } from "../bindings/KeyPlace";
import type { ParkedOp } from "../bindings/ParkedOp";
import type { OrderInput } from "../bindings/OrderInput";
import type { OrderRecord } from "../bindings/OrderRecord";
import type { AddressInput } from "../bindings/AddressInput";
import type { AddressRecord } from "../bindings/AddressRecord";
import type { CommandError } from "../bindings/CommandError";
import type { Customer } from "../bindings/Customer";
import type { CustomerChanges } from "../bindings/CustomerChanges";
import type { CustomerDetails } from "../bindings/CustomerDetails";
import type { DuplicatePair } from "../bindings/DuplicatePair";
import type { ExportResult } from "../bindings/ExportResult";
import type { ListQuery } from "../bindings/ListQuery";
import type { Locale } from "../bindings/Locale";
import type { MergeEntry } from "../bindings/MergeEntry";
import type { MergeId } from "../bindings/MergeId";
import type { MergePreview } from "../bindings/MergePreview";
import type { Page } from "../bindings/Page";
import type { Preferences } from "../bindings/Preferences";
import type { UpdateFeed } from "../bindings/UpdateFeed";
import type { UpdateStatus } from "../bindings/UpdateStatus";
import type { SearchHit } from "../bindings/SearchHit";
import type { ServerHistory } from "../bindings/ServerHistory";
import type { StaffMember } from "../bindings/StaffMember";
import type { StaffSession } from "../bindings/StaffSession";
import type { StartupProblem } from "../bindings/StartupProblem";
import type { StubInput } from "../bindings/StubInput";
import type { StubOutcome } from "../bindings/StubOutcome";
import type { UpgradeRequest } from "../bindings/UpgradeRequest";

export interface Backend {
  createGuest(): Promise<Customer>;
  createStub(input: StubInput): Promise<StubOutcome>;
  searchCustomers(query: string, limit?: number): Promise<SearchHit[]>;
  listCustomers(query: ListQuery): Promise<Page>;
  customerDetails(id: string): Promise<CustomerDetails>;
  updateCustomer(id: string, changes: CustomerChanges): Promise<Customer>;
  deactivateCustomer(id: string): Promise<Customer>;
  reactivateCustomer(id: string): Promise<Customer>;
  /** Likely duplicates among the till's customers, `keep` suggested to stay (managers). */
  likelyDuplicates(): Promise<DuplicatePair[]>;
  /** What merging `duplicateId` into `keepId` would move; refused as the merge itself would be. */
  mergePreview(duplicateId: string, keepId: string): Promise<MergePreview>;
  /**
   * Merges the duplicate into the customer that stays (works offline, queued) for `reason` as
   * typed (required, one line); the merge as the log shows it.
   */
  mergeCustomers(duplicateId: string, keepId: string, reason: string): Promise<MergeEntry>;
  /** Undoes a merge of the last 24 hours; the duplicate, active again. */
  undoMerge(mergeId: MergeId): Promise<Customer>;
  /** The merges this till knows that the customer took part in (either side), newest first. */
  customerMerges(id: string): Promise<MergeEntry[]>;
  /** The customer's orders, newest first. */
  customerOrders(id: string): Promise<OrderRecord[]>;
  /** Takes a drop-off order (works offline); amount and pieces as typed. */
  recordOrder(customerId: string, input: OrderInput): Promise<OrderRecord>;
  /** A manager's points adjustment as typed (`+5`, `-20`) with a reason; the points after. */
  adjustPoints(customerId: string, delta: string, reason: string): Promise<number>;
  /** The ticket reference the next order gets unless one is typed. */
  nextTicket(): Promise<string>;
  addAddress(customerId: string, input: AddressInput): Promise<AddressRecord>;
  updateAddress(id: string, input: AddressInput): Promise<AddressRecord>;
  deleteAddress(id: string): Promise<void>;
  setDefaultAddress(id: string): Promise<AddressRecord>;
  exportCsv(filter: ListQuery, locale: Locale): Promise<ExportResult>;
  /** The same list as an Excel workbook (phones as text, figures as numbers). */
  exportXlsx(filter: ListQuery, locale: Locale): Promise<ExportResult>;
  /** A manager's backup of the whole till, sealed with `passphrase`, into the exports folder. */
  backupTo(passphrase: string): Promise<BackupInfo>;
  /**
   * Restores the backup at `path` (as typed or pasted) opened with `passphrase`; on success the
   * app restarts onto it moments later. A refused backup changes nothing.
   */
  restoreFrom(path: string, passphrase: string): Promise<BackupInfo>;
  /** Queues the upgrade stub → full (works offline; the server sends the code when it arrives). */
  requestUpgrade(id: string, email: string, preferences: Preferences, smsLanguage: Locale | null): Promise<UpgradeRequest>;
  /** Asks the server for a new code (online). */
  resendUpgradeCode(id: string): Promise<UpgradeRequest>;
  /** Submits the code the customer read out (online). */
  verifyUpgradeCode(id: string, code: string): Promise<UpgradeRequest>;
  syncStatus(): Promise<EngineStatus>;
  /** Calls `handler` on every `sync-status` event; resolves to the unsubscribe function. */
  onSyncStatus(handler: (status: EngineStatus) => void): Promise<() => void>;
  /** Calls `handler` when the app is launched again on this till (this window was focused). */
  onSecondLaunch(handler: () => void): Promise<() => void>;
  enrollmentInfo(): Promise<EnrollmentInfo>;
  /** Where the key of the till's encrypted store is kept. */
  keyPlace(): Promise<KeyPlace>;
  /** The shop's time zone (IANA name), whose days dates are shown in. */
  timeZone(): Promise<string>;
  /** Why the till's data could not be opened at start; `null` when it started normally. */
  startupProblem(): Promise<StartupProblem | null>;
  enrollDevice(serverUrl: string, tenant: string, code: string): Promise<void>;
  resetEnrollment(force: boolean): Promise<void>;
  parkedOps(): Promise<ParkedOp[]>;
  retryParked(deviceSeq: number): Promise<void>;
  discardParked(deviceSeq: number): Promise<void>;
  storeLocation(): Promise<GeoPoint | null>;
  /** Coordinates as typed (any digit script); the shell validates them. */
  setStoreLocation(latitude: string, longitude: string): Promise<GeoPoint>;
  clearStoreLocation(): Promise<void>;
  addressDistances(customerId: string): Promise<AddressDistance[]>;
  customerActivity(id: string): Promise<CustomerActivity>;
  /** The customer's history as the shop's server holds it (managers, online; `null` while the server does not know them). */
  serverHistory(id: string): Promise<ServerHistory | null>;
  /** Who is signed in, and whether this till needs anyone to be (its staff roster is not empty). */
  staffSession(): Promise<StaffSession>;
  /** The shop's staff who may sign in here (from the server's roster), by name. */
  staffRoster(): Promise<StaffMember[]>;
  /** Checks the PIN on the till (works offline). */
  signIn(staffId: string, pin: string): Promise<StaffMember>;
  /** A standalone till's first start: its owner's name and PIN; signs the owner in. */
  setOwnerPin(name: string, pin: string): Promise<StaffMember>;
  signOut(): Promise<StaffSession>;
  /** This app's version and where it stands with updates. */
  updateStatus(): Promise<UpdateStatus>;
  /** Asks the update feed now; the outcome arrives through `onUpdateStatus`. */
  checkForUpdates(): Promise<void>;
  /** Calls `handler` on every `update-status` event; resolves to the unsubscribe function. */
  onUpdateStatus(handler: (status: UpdateStatus) => void): Promise<() => void>;
  /** A manager's own update feed for this till, as typed (the shell validates it); asks it at once. */
  setUpdateFeed(url: string): Promise<UpdateFeed>;
  /** Forgets this till's own update feed; the server's applies again (or none). */
  clearUpdateFeed(): Promise<UpdateFeed | null>;
}

/** The event the shell emits on every sync engine status change. */
export const SYNC_STATUS_EVENT = "sync-status";
/** The event the shell emits on every change of the app's update state. */
export const UPDATE_STATUS_EVENT = "update-status";
/** The event the shell emits when the app is launched again on the same till. */
export const SECOND_LAUNCH_EVENT = "second-launch";

/** A command failed: carries the shell's `{code, message}` for the UI to localise. */
export class BackendError extends Error {
  readonly code: string;
  readonly detail: CommandError["message"];
  constructor(error: CommandError) {
    super(error.code);
    this.code = error.code;
    this.detail = error.message;
  }
}

function isCommandError(e: unknown): e is CommandError {
  if (typeof e !== "object" || e === null) return false;
  const o = e as Record<string, unknown>;
  const m = o.message as Record<string, unknown> | undefined;
  return typeof o.code === "string" && typeof m === "object" && m !== null && typeof m.id === "string";
}

/** Anything thrown by a command, as a BackendError (unknown failures become `unexpected`). */
export function toBackendError(e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (isCommandError(e)) return new BackendError(e);
  const detail = e instanceof Error ? e.message : String(e);
  return new BackendError({
    code: "unexpected",
    message: { id: "error-unexpected", args: [["detail", { type: "text", value: detail }]] },
  });
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toBackendError(e);
  }
}

/** The desktop shell, through Tauri's IPC. */
export const tauriBackend: Backend = {
  createGuest: () => call("create_guest"),
  createStub: (input) => call("create_stub", { input }),
  searchCustomers: (query, limit = 20) => call("search_customers", { query, limit }),
  listCustomers: (query) => call("list_customers", { query }),
  customerDetails: (id) => call("customer_details", { id }),
  updateCustomer: (id, changes) => call("update_customer", { id, changes }),
  deactivateCustomer: (id) => call("deactivate_customer", { id }),
  reactivateCustomer: (id) => call("reactivate_customer", { id }),
  likelyDuplicates: () => call("likely_duplicates"),
  mergePreview: (duplicateId, keepId) => call("merge_preview", { duplicateId, keepId }),
  mergeCustomers: (duplicateId, keepId, reason) => call("merge_customers", { duplicateId, keepId, reason }),
  undoMerge: (mergeId) => call("undo_merge", { mergeId }),
  customerMerges: (id) => call("customer_merges", { id }),
  customerOrders: (id) => call("customer_orders", { id }),
  recordOrder: (customerId, input) => call("record_order", { customerId, input }),
  adjustPoints: (customerId, delta, reason) => call("adjust_points", { customerId, delta, reason }),
  nextTicket: () => call("next_ticket"),
  addAddress: (customerId, input) => call("add_address", { customerId, input }),
  updateAddress: (id, input) => call("update_address", { id, input }),
  deleteAddress: (id) => call("delete_address", { id }),
  setDefaultAddress: (id) => call("set_default_address", { id }),
  exportCsv: (filter, locale) => call("export_csv", { filter, locale }),
  exportXlsx: (filter, locale) => call("export_xlsx", { filter, locale }),
  backupTo: (passphrase) => call("backup_to", { passphrase }),
  restoreFrom: (path, passphrase) => call("restore_from", { path, passphrase }),
  requestUpgrade: (id, email, preferences, smsLanguage) =>
    call("request_upgrade", { id, email, preferences, smsLanguage }),
  resendUpgradeCode: (id) => call("resend_upgrade_code", { id }),
  verifyUpgradeCode: (id, code) => call("verify_upgrade_code", { id, code }),
  syncStatus: () => call("sync_status"),
  onSyncStatus: (handler) => listen<EngineStatus>(SYNC_STATUS_EVENT, (e) => handler(e.payload)),
  onSecondLaunch: (handler) => listen(SECOND_LAUNCH_EVENT, () => handler()),
  updateStatus: () => call("update_status"),
  checkForUpdates: () => call("check_for_updates"),
  onUpdateStatus: (handler) => listen<UpdateStatus>(UPDATE_STATUS_EVENT, (e) => handler(e.payload)),
  setUpdateFeed: (url) => call("set_update_feed", { url }),
  clearUpdateFeed: () => call("clear_update_feed"),
  enrollmentInfo: () => call("enrollment_info"),
  keyPlace: () => call("key_place"),
  startupProblem: () => call("startup_problem"),
  timeZone: () => call("time_zone"),
  enrollDevice: (serverUrl, tenant, code) => call("enroll_device", { serverUrl, tenant, code }),
  resetEnrollment: (force) => call("reset_enrollment", { force }),
  parkedOps: () => call("parked_ops"),
  retryParked: (deviceSeq) => call("retry_parked", { deviceSeq }),
  discardParked: (deviceSeq) => call("discard_parked", { deviceSeq }),
  storeLocation: () => call("store_location"),
  setStoreLocation: (latitude, longitude) => call("set_store_location", { latitude, longitude }),
  clearStoreLocation: () => call("clear_store_location"),
  addressDistances: (customerId) => call("address_distances", { customerId }),
  customerActivity: (id) => call("customer_activity", { id }),
  serverHistory: (id) => call("server_history", { id }),
  staffSession: () => call("staff_session"),
  staffRoster: () => call("staff_roster"),
  signIn: (staffId, pin) => call("sign_in", { staffId, pin }),
  setOwnerPin: (name, pin) => call("set_owner_pin", { name, pin }),
  signOut: () => call("sign_out"),
};
