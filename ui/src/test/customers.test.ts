import { describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC } from "@tauri-apps/api/mocks";
import App from "../App.svelte";
import { tauriBackend } from "../lib/backend";
import type { ListQuery } from "../bindings/ListQuery";
import { customer } from "./fixtures";

describe("the customers list", () => {
  it("pages with the keyset cursor and renders only a window of the rows", async () => {
    const all = Array.from({ length: 1000 }, (_, i) =>
      customer({ firstName: `Customer ${i}`, phone: `+9689${String(1000000 + i)}` }),
    );
    const queries: ListQuery[] = [];
    mockIPC((cmd, payload) => {
      if (cmd !== "list_customers") throw new Error(cmd);
      const q = (payload as { query: ListQuery }).query;
      queries.push(q);
      const start = q.after ? all.findIndex((c) => c.id === q.after) + 1 : 0;
      const items = all.slice(start, start + (q.limit ?? 50));
      const next = start + items.length < all.length ? items[items.length - 1].id : null;
      return { items, next };
    });
    const user = userEvent.setup();
    render(App, { props: { backend: tauriBackend } });
    await user.keyboard("{F8}");
    await waitFor(() => expect(screen.getByTestId("list-count").textContent).toContain("customers shown"));
    expect(queries[0]).toMatchObject({ active: true, after: null, kind: null, syncState: null });
    // jsdom has no layout: the viewport falls back to 0 px, so only the overscan rows exist.
    const rows = screen.getAllByTestId("row");
    expect(rows.length).toBeLessThan(30);
    expect(rows[0].textContent).toContain("Customer 0");
    expect(rows[0].querySelector("bdi[dir=ltr]")).toBeTruthy();

    await user.click(screen.getByTestId("filter-unsynced"));
    await waitFor(() => expect(queries.at(-1)?.syncState).toBe("pending"));
  });

  it("searches through the till with the filters, and exports what the list shows as CSV or Excel", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (cmd === "list_customers") return { items: [customer({ firstName: "Ahmed" })], next: null };
      if (cmd === "export_csv" || cmd === "export_xlsx") {
        return { path: `/home/till/Downloads/dukkan-customers.${cmd === "export_csv" ? "csv" : "xlsx"}`, rows: 1 };
      }
      throw new Error(cmd);
    });
    const user = userEvent.setup();
    render(App, { props: { backend: tauriBackend } });
    await user.keyboard("{F8}");
    await user.type(await screen.findByTestId("list-search"), "ahm");
    await waitFor(() =>
      expect((calls.at(-1)?.args.query as ListQuery | undefined)?.search).toBe("ahm"),
    );
    expect(calls.some((c) => c.cmd === "search_customers")).toBe(false);
    await user.click(screen.getByTestId("export-xlsx"));
    await waitFor(() => expect(screen.getByTestId("notice").textContent).toContain("dukkan-customers.xlsx"));
    const xlsx = calls.find((c) => c.cmd === "export_xlsx");
    expect(xlsx?.args.filter).toMatchObject({ search: "ahm", active: true, limit: null });
    await user.click(screen.getByTestId("export"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "export_csv")).toBe(true));
    expect(calls.find((c) => c.cmd === "export_csv")?.args.filter).toMatchObject({ search: "ahm" });
  });

  it("deactivates a customer after confirmation", async () => {
    const c = customer({ firstName: "Huda" });
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "list_customers") return { items: [c], next: null };
      if (cmd === "deactivate_customer") return { ...c, active: false };
      throw new Error(cmd);
    });
    const user = userEvent.setup();
    render(App, { props: { backend: tauriBackend } });
    await user.keyboard("{F8}");
    await user.click(await screen.findByRole("button", { name: "Deactivate: Huda" }));
    await user.click(screen.getByTestId("deactivate-yes"));
    await waitFor(() => expect(screen.getByTestId("notice").textContent).toBe("Huda was deactivated."));
    expect(calls).toContain("deactivate_customer");
    expect(screen.queryAllByTestId("row")).toHaveLength(0);
  });

  it("reactivates an inactive customer, and shows the refusal that names who holds the phone", async () => {
    const c = customer({ firstName: "Huda", active: false });
    let refuse = true;
    mockIPC((cmd) => {
      if (cmd === "list_customers") return { items: [c], next: null };
      if (cmd === "reactivate_customer") {
        if (refuse) {
          throw {
            code: "customer.phone-taken",
            message: {
              id: "error-phone-taken-by",
              args: [["customer", { type: "text", value: "Salim (CUST-00012)" }]],
            },
          };
        }
        return { ...c, active: true };
      }
      throw new Error(cmd);
    });
    const user = userEvent.setup();
    render(App, { props: { backend: tauriBackend } });
    await user.keyboard("{F8}");
    await user.selectOptions(await screen.findByTestId("filter-active"), "inactive");
    const button = await screen.findByRole("button", { name: "Reactivate: Huda" });
    await user.click(button);
    await waitFor(() => expect(document.body.textContent).toContain("Salim (CUST-00012)"));
    refuse = false;
    await user.click(screen.getByRole("button", { name: "Reactivate: Huda" }));
    await waitFor(() => expect(screen.getByTestId("notice").textContent).toBe("Huda is active again."));
  });
});
