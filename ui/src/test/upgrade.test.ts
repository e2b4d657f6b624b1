import { describe, expect, it } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "../App.svelte";
import { tauriBackend } from "../lib/backend";
import { setLocale } from "../lib/i18n.svelte";
import { maskPhone, normalizeCode, secondsUntil, viewOf } from "../lib/upgrade";
import type { UpgradeRequest } from "../bindings/UpgradeRequest";
import { customer } from "./fixtures";

const NOW = Date.parse("2026-11-25T10:00:00.000Z");
const at = (seconds: number) => new Date(NOW + seconds * 1000).toISOString();

function request(over: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return {
    email: "ahmed@example.om",
    preferences: { folding: null, fragrance: null, ecoFriendly: false, channels: [] },
    state: "queued",
    requestedAt: at(-10),
    updatedAt: at(-10),
    codeExpiresAt: null,
    resendAfter: null,
    errorCode: null,
    attemptsLeft: null,
    waitingForSync: false,
    ...over,
  };
}

describe("the upgrade flow's logic", () => {
  it("counts down in whole seconds and never below zero", () => {
    expect(secondsUntil(at(59.2), NOW)).toBe(60);
    expect(secondsUntil(at(-5), NOW)).toBe(0);
    expect(secondsUntil(null, NOW)).toBe(0);
    expect(secondsUntil("not a date", NOW)).toBe(0);
  });

  it("accepts six digits in any script and refuses anything else", () => {
    expect(normalizeCode("١٢٣ ٤٥٦")).toBe("123456");
    expect(normalizeCode("۱۲۳۴۵۶")).toBe("123456");
    expect(normalizeCode("12345")).toBeNull();
    expect(normalizeCode("1234567")).toBeNull();
    expect(normalizeCode("12\u202e3456")).toBeNull();
    expect(normalizeCode("9".repeat(10_000))).toBeNull();
  });

  it("masks all but the last four digits of the phone", () => {
    expect(maskPhone("+96892123456")).toBe("••••3456");
    expect(maskPhone(null)).toBe("");
  });

  it("maps each server state to the step the cashier sees", () => {
    expect(viewOf(request({ waitingForSync: true }), NOW)).toEqual({ step: "waiting-for-sync" });
    expect(viewOf(request({ resendAfter: at(30), errorCode: "otp.cooldown" }), NOW)).toEqual({ step: "sending", waitSeconds: 30 });
    expect(viewOf(request({ state: "sent", codeExpiresAt: at(300), resendAfter: at(60) }), NOW)).toEqual({
      step: "code",
      resendIn: 60,
      expiresIn: 300,
    });
    // The code's time ran out before the server said so: shown expired at once.
    expect(viewOf(request({ state: "sent", codeExpiresAt: at(-1) }), NOW).step).toBe("expired");
    expect(viewOf(request({ state: "failed", errorCode: "otp.locked" }), NOW)).toEqual({ step: "failed", reason: "otp.locked", resendIn: 0 });
    expect(viewOf(request({ state: "verified" }), NOW)).toEqual({ step: "verified" });
    expect(viewOf(request({ state: "expired" }), NOW).step).toBe("expired");
  });
});

/** A fake shell with one stub whose upgrade moves as the server would move it. */
function fakeShell() {
  const stub = customer({ firstName: "Ahmed", phone: "+96892123456" });
  let upgrade: UpgradeRequest | null = null;
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "search_customers":
        return [{ matched: "phonePrefix", customer: stub }];
      case "customer_details":
        return { customer: stub, addresses: [], upgrade };
      case "request_upgrade":
        if (!String(args.email).includes("@")) {
          throw { code: "validation.invalid-email", message: { id: "error-invalid-email", args: [["field", { type: "message", value: "field-email" }]] } };
        }
        upgrade = request({ email: String(args.email), waitingForSync: true });
        return upgrade;
      case "verify_upgrade_code":
        if (args.code !== "123456") {
          upgrade = { ...upgrade!, errorCode: "otp.invalid", attemptsLeft: 2 };
        } else {
          upgrade = { ...upgrade!, state: "verified", errorCode: null };
          stub.kind = "full";
          stub.phoneVerified = true;
        }
        return upgrade;
      case "resend_upgrade_code":
        return upgrade;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return {
    calls,
    // What the sync engine would do in the background: the server sent the code.
    codeSent() {
      upgrade = request({ state: "sent", codeExpiresAt: new Date(Date.now() + 300_000).toISOString(), resendAfter: new Date(Date.now() + 60_000).toISOString() });
    },
  };
}

async function openStub() {
  const user = userEvent.setup();
  render(App, { props: { backend: tauriBackend } });
  await user.type(screen.getByTestId("search"), "9212");
  await user.click(await screen.findByTestId("result"));
  await screen.findByTestId("upgrade");
  return user;
}

describe("the upgrade panel", () => {
  it("queues the request offline, then takes the code with focus, attempts left and verification", async () => {
    const shell = fakeShell();
    const user = await openStub();
    await user.click(screen.getByTestId("upgrade-start"));
    const email = screen.getByTestId("upgrade-email");
    expect(document.activeElement).toBe(email);
    await user.type(email, "ahmed@example.om{Enter}");
    await waitFor(() => expect(screen.getByTestId("upgrade-state").dataset.state).toBe("waiting-for-sync"));
    expect(screen.getByTestId("upgrade-state").textContent).toContain("online");
    const sent = shell.calls.find((c) => c.cmd === "request_upgrade")!;
    expect(sent.args).toMatchObject({ email: "ahmed@example.om", smsLanguage: "en" });

    // The engine delivers it and the server texts the code: the panel notices by itself.
    shell.codeSent();
    await waitFor(() => expect(screen.getByTestId("upgrade-state").dataset.state).toBe("code"), { timeout: 4000 });
    const code = screen.getByTestId("upgrade-code");
    await waitFor(() => expect(document.activeElement).toBe(code));
    expect(screen.getByTestId("upgrade-state").textContent).toContain("••••3456");
    const resend = screen.getByTestId("upgrade-resend") as HTMLButtonElement;
    expect(resend.disabled).toBe(true);
    expect(resend.textContent).toMatch(/New code in (59|60) s/);

    // A malformed code never leaves the screen.
    await user.type(code, "12{Enter}");
    expect(within(screen.getByTestId("upgrade")).getByTestId("error").textContent).toBe("A verification code has 6 digits.");
    expect(shell.calls.some((c) => c.cmd === "verify_upgrade_code")).toBe(false);

    await user.clear(code);
    await user.type(code, "654321{Enter}");
    await waitFor(() => expect(screen.getByTestId("upgrade-answer").textContent).toBe("Wrong code. 2 attempts left."));

    await user.clear(code);
    await user.type(code, "١٢٣٤٥٦{Enter}");
    await waitFor(() => expect(screen.getByTestId("upgrade-state").dataset.state).toBe("verified"));
    expect(shell.calls.filter((c) => c.cmd === "verify_upgrade_code").at(-1)?.args.code).toBe("123456");
  });

  it("shows a refused email as a localised error and queues nothing", async () => {
    const shell = fakeShell();
    const user = await openStub();
    await user.click(screen.getByTestId("upgrade-start"));
    const email = screen.getByTestId("upgrade-email") as HTMLInputElement;
    email.type = "text"; // let the bad value past the browser's own check, as a paste would
    await user.type(email, "not-an-email{Enter}");
    await waitFor(() =>
      expect(within(screen.getByTestId("upgrade")).getByTestId("error").textContent).toBe("This email address is not valid."),
    );
    expect(screen.queryByTestId("upgrade-state")).toBeNull();
    expect(shell.calls.filter((c) => c.cmd === "request_upgrade")).toHaveLength(1);
  });

  it("speaks Arabic with the phone kept left to right", async () => {
    const shell = fakeShell();
    setLocale("ar");
    const user = await openStub();
    await user.click(screen.getByTestId("upgrade-start"));
    await user.type(screen.getByTestId("upgrade-email"), "ahmed@example.om{Enter}");
    shell.codeSent();
    await waitFor(() => expect(screen.getByTestId("upgrade-state").dataset.state).toBe("code"), { timeout: 4000 });
    const state = screen.getByTestId("upgrade-state");
    expect(state.textContent).toContain("أُرسل الرمز إلى");
    expect(state.querySelector("bdi[dir=ltr]")?.textContent).toBe("••••3456");
    expect(shell.calls.find((c) => c.cmd === "request_upgrade")?.args.smsLanguage).toBe("ar");
  });
});
