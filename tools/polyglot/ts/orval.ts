// orval (fetch client) against the local mock. Each call answers `{ data, status, headers }`,
// typed per documented status; the idiomatic check is `status`. A bodiless 404 arrives as
// `{ status: 404, data: {} }` although the type says ErrorList: check the shape before reading it.
import {
  createCustomer,
  getCustomer,
  listCustomers,
  type CustomerCreate,
} from "./gen/orval/customers";
import { MISSING_ID, check, env, run, writtenId } from "./common";

// Request bodies are closed: a misspelt field or a CustomerID does not type-check.
// @ts-expect-error `BillingCty` is not a field (BillingCity is)
export const misspelt: CustomerCreate = { Email: "a@example.com", Password: "", BillingCty: "Tampa" };
// @ts-expect-error the store assigns CustomerID: a create body has none
export const withId: CustomerCreate = { Email: "a@example.com", Password: "", CustomerID: 7 };

async function count(): Promise<number> {
  const res = await listCustomers({ countonly: 1 });
  check(res.status === 200, `count: status ${res.status}`);
  check(!Array.isArray(res.data), "count: a page instead of {TotalCount}");
  return res.data.TotalCount;
}

run(async () => {
  const before = await count();

  const page = await listCustomers({ limit: 5, offset: 1 });
  check(page.status === 200 && Array.isArray(page.data), `list: status ${page.status}`);
  const ids = page.data.map((c) => c.CustomerID ?? 0);

  const body: CustomerCreate = { Email: env("POLYGLOT_EMAIL"), Password: "" };
  const created = await createCustomer(body);
  check(created.status === 201, `create: status ${created.status}`);
  const id = writtenId(created.data[0]?.Value);

  const got = await getCustomer(id);
  check(got.status === 200, `get ${id}: status ${got.status}`);

  const missing = await getCustomer(MISSING_ID);
  check(missing.status === 404, `get of a missing id: status ${missing.status}`);
  // Typed ErrorList, but an empty body parses as {}: only an array is an error list.
  const errors = Array.isArray(missing.data) ? missing.data : null;

  return {
    client: "orval",
    count: before,
    page: ids,
    created: id,
    email: got.data[0]?.Email ?? null,
    countAfter: await count(),
    missing: { status: missing.status, check: "status === 404", body: errors },
  };
});
