// @hey-api/openapi-ts (fetch client) against the local mock. Each call answers
// `{ data, error, response }`. For an error answer without a body the bundled client sets
// `error` to `{}` although the type says ErrorList: `if (error)` sees the 404, but read the
// status from `response` and check the body's shape before reading messages.
import { client } from "./gen/hey-api/client.gen";
import { createCustomer, getCustomer, listCustomers } from "./gen/hey-api/sdk.gen";
import type { CustomerCreate } from "./gen/hey-api/types.gen";
import { MISSING_ID, check, credentials, env, loopback, run, writtenId } from "./common";

// Request bodies are closed: a misspelt field or a CustomerID does not type-check.
// @ts-expect-error `BillingCty` is not a field (BillingCity is)
export const misspelt: CustomerCreate = { Email: "a@example.com", Password: "", BillingCty: "Tampa" };
// @ts-expect-error the store assigns CustomerID: a create body has none
export const withId: CustomerCreate = { Email: "a@example.com", Password: "", CustomerID: 7 };

client.setConfig({ baseUrl: loopback(env("THREEDCART_BASE_URL")), headers: credentials() });

async function count(): Promise<number> {
  const { data, error, response } = await listCustomers({ query: { countonly: 1 } });
  check(error === undefined && data !== undefined, `count: status ${response.status}`);
  check(!Array.isArray(data), "count: a page instead of {TotalCount}");
  return data.TotalCount;
}

run(async () => {
  const before = await count();

  const page = await listCustomers({ query: { limit: 5, offset: 1 } });
  check(page.data !== undefined && Array.isArray(page.data), `list: status ${page.response.status}`);
  const ids = page.data.map((c) => c.CustomerID ?? 0);

  const body: CustomerCreate = { Email: env("POLYGLOT_EMAIL"), Password: "" };
  const created = await createCustomer({ body });
  check(created.data !== undefined && created.response.status === 201, `create: status ${created.response.status}`);
  const id = writtenId(created.data[0]?.Value);

  const got = await getCustomer({ path: { id } });
  check(got.data !== undefined, `get ${id}: status ${got.response.status}`);

  const missing = await getCustomer({ path: { id: MISSING_ID } });
  check(missing.error !== undefined, `get of a missing id: status ${missing.response.status}`);
  // Typed ErrorList, but a bodiless answer gives {}: only an array is an error list.
  const errors = Array.isArray(missing.error) ? missing.error : null;

  return {
    client: "hey-api",
    count: before,
    page: ids,
    created: id,
    email: got.data[0]?.Email ?? null,
    countAfter: await count(),
    missing: { status: missing.response.status, check: "error !== undefined", body: errors },
  };
});
