// openapi-typescript types + openapi-fetch requests, against the local mock.
// openapi-fetch leaves `error` undefined when an error answer has no body (the spec allows a
// bodiless 400/404/500), so the idiomatic check is the response, not `error`: `!response.ok`.
import createClient from "openapi-fetch";
import type { components, paths } from "./gen/openapi-typescript/customers";
import { MISSING_ID, check, credentials, env, loopback, run, writtenId } from "./common";

type CustomerCreate = components["schemas"]["CustomerCreate"];

// Request bodies are closed: a misspelt field or a CustomerID does not type-check.
// @ts-expect-error `BillingCty` is not a field (BillingCity is)
export const misspelt: CustomerCreate = { Email: "a@example.com", Password: "", BillingCty: "Tampa" };
// @ts-expect-error the store assigns CustomerID: a create body has none
export const withId: CustomerCreate = { Email: "a@example.com", Password: "", CustomerID: 7 };

const LIST = "/3dCartWebAPI/v1/Customers";
const ONE = "/3dCartWebAPI/v1/Customers/{id}";

const client = createClient<paths>({ baseUrl: loopback(env("THREEDCART_BASE_URL")), headers: credentials() });

async function count(): Promise<number> {
  const { data, response } = await client.GET(LIST, { params: { query: { countonly: 1 } } });
  check(response.ok && data !== undefined, `count: status ${response.status}`);
  check(!Array.isArray(data), "count: a page instead of {TotalCount}");
  return data.TotalCount;
}

run(async () => {
  const before = await count();

  const page = await client.GET(LIST, { params: { query: { limit: 5, offset: 1 } } });
  check(page.data !== undefined && Array.isArray(page.data), `list: status ${page.response.status}`);
  const ids = page.data.map((c) => c.CustomerID ?? 0);

  const body: CustomerCreate = { Email: env("POLYGLOT_EMAIL"), Password: "" };
  const created = await client.POST(LIST, { body });
  check(created.response.status === 201 && created.data !== undefined, `create: status ${created.response.status}`);
  const id = writtenId(created.data[0]?.Value);

  const got = await client.GET(ONE, { params: { path: { id } } });
  check(got.data !== undefined, `get ${id}: status ${got.response.status}`);

  const missing = await client.GET(ONE, { params: { path: { id: MISSING_ID } } });
  check(!missing.response.ok, "get of a missing id succeeded");

  return {
    client: "openapi-fetch",
    count: before,
    page: ids,
    created: id,
    email: got.data[0]?.Email ?? null,
    countAfter: await count(),
    missing: { status: missing.response.status, check: "!response.ok", body: missing.error ?? null },
  };
});
