import { describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "../App.svelte";
import { tauriBackend } from "../lib/backend";
import { setLocale } from "../lib/i18n.svelte";
import { customer } from "./fixtures";

type Calls = { cmd: string; args: Record<string, unknown> }[];

/** A fake shell: an in-memory customer list answering the commands the counter uses. */
function fakeShell(initial = [customer({ firstName: "Salim", phone: "+96899887766", customerNumber: "CUST-00007" })]) {
  const customers = [...initial];
  const calls: Calls = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "search_customers": {
        const q = String(args.query).replace(/\s/g, "");
        return customers
          .filter((c) => (c.phone ?? "").includes(q) || (c.firstName ?? "").toLowerCase().startsWith(q.toLowerCase()))
          .map((c) => ({ matched: "phonePrefix", customer: c }));
      }
      case "create_stub": {
        const input = args.input as { firstName: string; phone: string };
        const digits = input.phone.replace(/[^\d]/g, "");
        if (!input.firstName.trim()) {
          throw { code: "validation.required", message: { id: "error-required", args: [["field", { type: "message", value: "field-first-name" }]] } };
        }
        if (digits.length !== 11) {
          throw { code: "validation.invalid-phone", message: { id: "error-invalid-phone", args: [["field", { type: "message", value: "field-phone" }]] } };
        }
        const phone = `+${digits}`;
        const existing = customers.find((c) => c.phone === phone);
        if (existing) return { outcome: "existing", customer: existing };
        const created = customer({ firstName: input.firstName, phone });
        customers.push(created);
        return { outcome: "created", customer: created };
      }
      case "create_guest": {
        const guest = customer({ kind: "guest", firstName: null, phone: null });
        customers.push(guest);
        return guest;
      }
      case "list_customers":
        return { items: [...customers].reverse(), next: null };
      case "customer_details":
        return { customer: customers.find((c) => c.id === args.id), addresses: [], upgrade: null };
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return { customers, calls };
}

function setup() {
  const user = userEvent.setup();
  render(App, { props: { backend: tauriBackend } });
  return user;
}

describe("the counter", () => {
  it("searches as the cashier types and lists matching customers", async () => {
    fakeShell();
    const user = setup();
    const search = screen.getByTestId("search");
    expect(document.activeElement).toBe(search);
    await user.type(search, "9988");
    const results = await screen.findAllByTestId("result");
    expect(results).toHaveLength(1);
    expect(results[0].textContent).toContain("Salim");
    expect(results[0].querySelector("bdi[dir=ltr]")?.textContent).toBe("+968 9988 7766");
  });

  it("shows 'not found', then F2 opens the stub form with the typed phone and Enter saves it", async () => {
    const shell = fakeShell();
    const user = setup();
    await user.type(screen.getByTestId("search"), "90123456");
    expect(await screen.findByTestId("no-results")).toBeTruthy();

    await user.keyboard("{F2}");
    const first = await screen.findByTestId("first-name");
    expect(document.activeElement).toBe(first);
    expect((screen.getByTestId("phone") as HTMLInputElement).value).toBe("90123456");
    expect((screen.getByTestId("country") as HTMLSelectElement).value).toBe("+968");

    await user.type(first, "Ahmed{Enter}");
    const confirmation = await screen.findByTestId("confirmation");
    expect(confirmation.dataset.outcome).toBe("created");
    expect(screen.getByTestId("card-name").textContent).toBe("Ahmed");
    expect(screen.getByTestId("card-number").textContent).toContain("Pending number");
    const create = shell.calls.find((c) => c.cmd === "create_stub");
    expect(create?.args.input).toEqual({ firstName: "Ahmed", lastName: null, name2: null, phone: "+968 90123456" });
    expect(shell.customers.some((c) => c.phone === "+96890123456")).toBe(true);
  });

  it("offers the existing customer instead of creating a duplicate phone", async () => {
    const shell = fakeShell();
    const user = setup();
    await user.keyboard("{F2}");
    await user.type(await screen.findByTestId("first-name"), "Salem");
    await user.type(screen.getByTestId("phone"), "9988 7766{Enter}");
    const confirmation = await screen.findByTestId("confirmation");
    expect(confirmation.dataset.outcome).toBe("existing");
    expect(confirmation.textContent).toContain("already belongs to a customer");
    expect(screen.getByTestId("card-name").textContent).toBe("Salim");
    expect(document.activeElement).toBe(screen.getByTestId("use-existing"));
    expect(shell.customers).toHaveLength(1);
  });

  it("accepts Arabic-Indic digits in the phone field", async () => {
    const shell = fakeShell();
    const user = setup();
    await user.keyboard("{F2}");
    await user.type(await screen.findByTestId("first-name"), "Ali");
    await user.type(screen.getByTestId("phone"), "٩٠١٢٣٤٥٦{Enter}");
    await screen.findByTestId("confirmation");
    const create = shell.calls.find((c) => c.cmd === "create_stub");
    expect((create?.args.input as { phone: string }).phone).toBe("+968 90123456");
  });

  it("shows a bad phone's error in English, then in Arabic after switching, and saves nothing", async () => {
    const shell = fakeShell();
    const user = setup();
    await user.keyboard("{F2}");
    await user.type(await screen.findByTestId("first-name"), "Ahmed");
    await user.type(screen.getByTestId("phone"), "123{Enter}");
    await waitFor(() =>
      expect(screen.getByTestId("error").textContent).toBe(
        "This phone number is not valid. Check the digits and the country code.",
      ),
    );
    await user.click(screen.getByTestId("language"));
    expect(screen.getByTestId("error").textContent).toBe("رقم الهاتف غير صحيح. تحقق من الأرقام ورمز الدولة.");
    expect(shell.customers).toHaveLength(1);
  });

  it("localises field labels inside error messages", async () => {
    fakeShell();
    setLocale("ar");
    const user = setup();
    await user.keyboard("{F2}");
    await user.type(await screen.findByTestId("phone"), "90123456{Enter}");
    await waitFor(() => expect(screen.getByTestId("error").textContent).toBe("الاسم الأول مطلوب."));
  });

  it("starts a walk-in customer with F4 and shows the pending number", async () => {
    const shell = fakeShell();
    const user = setup();
    await user.keyboard("{F4}");
    const confirmation = await screen.findByTestId("confirmation");
    expect(confirmation.dataset.outcome).toBe("guest");
    expect(screen.getByTestId("card-name").textContent).toBe("Walk-in customer");
    expect(screen.getByTestId("card-number").textContent).toContain("No number until a first order");
    expect(shell.calls.map((c) => c.cmd)).toContain("create_guest");
  });

  it("Escape leaves the form and puts the focus back in the search box", async () => {
    fakeShell();
    const user = setup();
    await user.keyboard("{F2}");
    await screen.findByTestId("first-name");
    await user.keyboard("{Escape}");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("search")));
  });
});

describe("the language switch", () => {
  it("turns the document right-to-left in Arabic and back", async () => {
    fakeShell();
    const user = setup();
    expect(document.documentElement.dir).toBe("ltr");
    expect(document.documentElement.lang).toBe("en");
    await user.click(screen.getByTestId("language"));
    expect(document.documentElement.dir).toBe("rtl");
    expect(document.documentElement.lang).toBe("ar");
    expect(screen.getByTestId("new-customer").textContent).toContain("عميل جديد");
    await user.click(screen.getByTestId("language"));
    expect(document.documentElement.dir).toBe("ltr");
  });
});
