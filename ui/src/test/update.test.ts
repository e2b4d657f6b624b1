import { describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import App from "../App.svelte";
import type { StaffMember } from "../bindings/StaffMember";
import type { UpdateStatus } from "../bindings/UpdateStatus";
import { tauriBackend, UPDATE_STATUS_EVENT } from "../lib/backend";
import { signedInShell, UNHANDLED } from "./fixtures";

const maryam: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000b1", name: "Maryam", role: "manager" };
const aisha: StaffMember = { id: "0190a0b0-0000-7000-8000-0000000000b2", name: "Aisha", role: "cashier" };
const serverFeed = "https://updates.dukkan.om/desk/{{target}}/{{arch}}/{{current_version}}";

const status = (over: Partial<UpdateStatus> = {}): UpdateStatus => ({
  current: "0.1.0",
  state: "idle",
  version: null,
  error: null,
  feed: { url: serverFeed, source: "server" },
  ...over,
});

/** A staffed till's shell with `staff` signed in; the update feed is checked as the shell does. */
function fakeShell(staff: StaffMember) {
  return signedInShell(staff, [maryam, aisha], (cmd, args) => {
    switch (cmd) {
      case "update_status":
        return status();
      case "check_for_updates":
        return null;
      case "set_update_feed":
        if (String(args.url).startsWith("http://")) {
          throw {
            code: "validation.insecure-url",
            message: { id: "error-insecure-url", args: [["field", { type: "message", value: "field-update-feed" }]] },
          };
        }
        return { url: String(args.url).trim(), source: "till" };
      default:
        return UNHANDLED;
    }
  });
}

async function openSettings() {
  const user = userEvent.setup();
  render(App, { props: { backend: tauriBackend } });
  await screen.findByTestId("nav-settings");
  await user.keyboard("{F9}");
  await screen.findByTestId("updates-section");
  return user;
}

describe("updates in Settings", () => {
  it("shows the version, where updates come from, and each state the shell reports, in English and Arabic", async () => {
    fakeShell(aisha);
    const user = await openSettings();
    await waitFor(() => expect(screen.getByTestId("update-current").textContent).toContain("0.1.0"));
    expect(screen.getByTestId("update-feed").textContent).toContain(serverFeed);
    expect(screen.getByTestId("update-feed").textContent).toContain("announced by the shop's server");
    // A cashier may check, not change the address.
    expect(screen.queryByTestId("update-feed-form")).toBeNull();
    expect(screen.getByTestId("update-check").hasAttribute("disabled")).toBe(false);

    await emit(UPDATE_STATUS_EVENT, status({ state: "downloading", version: "0.1.1" }));
    await waitFor(() => expect(screen.getByTestId("update-state").dataset.state).toBe("downloading"));
    expect(screen.getByTestId("update-check").hasAttribute("disabled")).toBe(true);
    await emit(UPDATE_STATUS_EVENT, status({ state: "ready", version: "0.1.1" }));
    await waitFor(() =>
      expect(screen.getByTestId("update-state").textContent).toContain("It starts the next time Dukkan is opened."),
    );
    await emit(UPDATE_STATUS_EVENT, status({ state: "refused", version: "0.1.2", error: "update.signature" }));
    await waitFor(() => expect(screen.getByTestId("update-error").textContent).toContain("signature does not match"));
    await user.click(screen.getByTestId("settings-language-ar"));
    await waitFor(() => expect(screen.getByTestId("update-error").textContent).toContain("توقيعه لا يطابق"));
    expect(screen.getByTestId("update-state").textContent).toContain("رُفض التحديث");
  });

  it("lets a manager set the till's own address, shows a refused one localised, and checks at once", async () => {
    const shell = fakeShell(maryam);
    const user = await openSettings();
    await user.click(await screen.findByTestId("update-feed-save"));
    expect(screen.getByTestId("update-feed-error").textContent).toBe("Update address is required.");
    expect(shell.called("set_update_feed")).toHaveLength(0);

    await user.type(screen.getByTestId("update-feed-input"), "http://192.168.1.9/latest.json{Enter}");
    await waitFor(() =>
      expect(screen.getByTestId("update-feed-error").textContent).toBe(
        "Update address must start with https:// (plain http:// is allowed only for this computer).",
      ),
    );
    await user.clear(screen.getByTestId("update-feed-input"));
    await user.type(screen.getByTestId("update-feed-input"), "https://mirror.shop.om/latest.json{Enter}");
    await waitFor(() => expect(screen.getByTestId("update-feed").textContent).toContain("set on this till"));
    expect(screen.getByTestId("update-feed").textContent).toContain("https://mirror.shop.om/latest.json");
    expect(screen.getByTestId("update-feed-notice").textContent).toContain("checking it now");
    expect(screen.getByTestId("update-feed-error").textContent?.trim()).toBe("");
    expect(screen.getByTestId("update-feed-clear")).toBeTruthy();
  });
});
