import { describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import App from "../App.svelte";
import type { BackupInfo } from "../bindings/BackupInfo";
import type { StaffMember } from "../bindings/StaffMember";
import { tauriBackend } from "../lib/backend";
import { signedInShell, UNHANDLED } from "./fixtures";
import { setLocale } from "../lib/i18n.svelte";

const maryam: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000b1", name: "Maryam", role: "manager" };
const aisha: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000b2", name: "Aisha", role: "cashier" };

const info = (over: Partial<BackupInfo> = {}): BackupInfo => ({
  path: "/home/till/Downloads/dukkan-backup-20261125-100000.dukkan-backup",
  sizeBytes: 409600,
  customers: 1234,
  pendingOps: 5,
  createdAt: "2026-11-25T06:00:00.000Z",
  ...over,
});

/**
 * A fake shell of a staffed till with `staff` signed in. Backup and restore check the
 * passphrase as the shell does (at least 10 characters, counted in characters).
 */
function fakeShell(staff: StaffMember, opts: { pending?: number } = {}) {
  const tooShort = (passphrase: unknown) => {
    if ([...String(passphrase)].length < 10) {
      throw {
        code: "backup.passphrase-too-short",
        message: { id: "error-backup-passphrase-too-short", args: [["min", { type: "number", value: 10 }]] },
      };
    }
  };
  return signedInShell(
    staff,
    [maryam, aisha],
    (cmd, args) => {
      switch (cmd) {
        case "backup_to":
          tooShort(args.passphrase);
          return info();
        case "restore_from":
          if (args.path !== "/media/usb/till.dukkan-backup") {
            throw { code: "backup.not-found", message: { id: "error-backup-not-found", args: [] } };
          }
          tooShort(args.passphrase);
          if (args.passphrase !== "sand dunes at dawn") {
            throw { code: "backup.wrong-passphrase", message: { id: "error-backup-wrong-passphrase", args: [] } };
          }
          return info({ path: String(args.path), customers: 1, pendingOps: 0 });
        default:
          return UNHANDLED;
      }
    },
    opts,
  );
}

async function openSettings() {
  const user = userEvent.setup();
  render(App, { props: { backend: tauriBackend } });
  await screen.findByTestId("nav-settings");
  await user.keyboard("{F9}");
  await screen.findByTestId("backup-section");
  return user;
}

describe("backup and restore in Settings", () => {
  it("refuses a short backup passphrase with the shell's localised error, in English and Arabic", async () => {
    const shell = fakeShell(maryam);
    const user = await openSettings();
    await user.type(await screen.findByTestId("backup-passphrase"), "short");
    await user.type(screen.getByTestId("backup-passphrase-again"), "short");
    await user.click(screen.getByTestId("backup-submit"));
    await waitFor(() =>
      expect(screen.getByTestId("backup-error").textContent).toBe("A backup passphrase has at least 10 characters."),
    );
    expect(shell.called("backup_to")).toHaveLength(1);
    expect(screen.queryByTestId("backup-done")).toBeNull();
    // The message is kept as an id: switching the language re-localises it.
    await user.click(screen.getByTestId("settings-language-ar"));
    await waitFor(() =>
      expect(screen.getByTestId("backup-error").textContent).toBe("تتكون عبارة مرور النسخة الاحتياطية من 10 أحرف على الأقل."),
    );
  });

  it("asks for the passphrase twice, then shows where the backup went and what it holds", async () => {
    const shell = fakeShell(maryam);
    const user = await openSettings();
    await user.type(await screen.findByTestId("backup-passphrase"), "sand dunes at dawn");
    await user.type(screen.getByTestId("backup-passphrase-again"), "sand dunes at dusk");
    await user.click(screen.getByTestId("backup-submit"));
    expect(screen.getByTestId("backup-error").textContent).toBe("The two passphrases are not the same. Type them again.");
    expect(shell.called("backup_to")).toHaveLength(0);

    await user.clear(screen.getByTestId("backup-passphrase-again"));
    await user.type(screen.getByTestId("backup-passphrase-again"), "sand dunes at dawn{Enter}");
    const done = await screen.findByTestId("backup-done");
    expect(shell.called("backup_to")[0].args).toEqual({ passphrase: "sand dunes at dawn" });
    expect(screen.getByTestId("backup-path").textContent).toBe(info().path);
    expect(screen.getByTestId("backup-path").getAttribute("dir")).toBe("ltr");
    expect(screen.getByTestId("backup-counts").textContent).toBe("1,234 customers, 5 changes not yet sent to the server.");
    expect(done.textContent).toContain("Backup saved:");
    expect(screen.getByTestId("backup-error").textContent?.trim()).toBe("");
    // The passphrase does not stay in the form.
    expect((screen.getByTestId("backup-passphrase") as HTMLInputElement).value).toBe("");
    expect((screen.getByTestId("backup-passphrase-again") as HTMLInputElement).value).toBe("");
  });

  it("restores only after a warning that names the unsent changes, and shows a wrong passphrase localised", async () => {
    const shell = fakeShell(maryam, { pending: 2 });
    const user = await openSettings();
    await user.click(await screen.findByTestId("restore-start"));
    expect(screen.getByTestId("restore-error").textContent).toBe("Backup file (full path) is required.");

    await user.type(screen.getByTestId("restore-path"), "/media/usb/till.dukkan-backup");
    await user.type(screen.getByTestId("restore-passphrase"), "wrong passphrase");
    await user.click(screen.getByTestId("restore-start"));
    const warning = await screen.findByTestId("restore-warning");
    expect(warning.textContent).toContain("This replaces the data on this till with the backup's, and the app restarts.");
    expect(warning.textContent).toContain("2 changes made on this till have not reached the server");
    expect(document.activeElement).toBe(screen.getByTestId("restore-confirm"));
    await user.click(screen.getByTestId("restore-cancel"));
    expect(screen.queryByTestId("restore-warning")).toBeNull();
    expect(shell.called("restore_from")).toHaveLength(0);

    await user.click(screen.getByTestId("restore-start"));
    await user.click(await screen.findByTestId("restore-confirm"));
    await waitFor(() =>
      expect(screen.getByTestId("restore-error").textContent).toBe(
        "This passphrase does not open the backup. Nothing was changed.",
      ),
    );
    expect(screen.queryByTestId("restore-done")).toBeNull();

    await user.clear(screen.getByTestId("restore-passphrase"));
    await user.type(screen.getByTestId("restore-passphrase"), "sand dunes at dawn");
    await user.click(screen.getByTestId("restore-start"));
    await user.click(await screen.findByTestId("restore-confirm"));
    const done = await screen.findByTestId("restore-done");
    expect(done.textContent).toContain("(one customer) is restored. The app restarts now");
    expect(shell.called("restore_from").at(-1)?.args).toEqual({
      path: "/media/usb/till.dukkan-backup",
      passphrase: "sand dunes at dawn",
    });
    expect(screen.getByTestId("restore-error").textContent?.trim()).toBe("");
  });

  it("is a manager's: a cashier sees neither form", async () => {
    const shell = fakeShell(aisha);
    setLocale("ar");
    await openSettings();
    expect(screen.getByTestId("backup-manager-only").textContent).toBe("لا يغيّر هذا إلا المدير. اطلب منه تسجيل الدخول.");
    expect(screen.queryByTestId("backup-form")).toBeNull();
    expect(screen.queryByTestId("restore-form")).toBeNull();
    expect(shell.called("backup_to")).toHaveLength(0);
  });
});
