// A TypeScript team's client of openapi/customers.yaml: types from openapi-typescript
// (out/customers.d.ts), requests through openapi-fetch, compiled with `tsc --strict`.
// tests/test_typescript_consumer.py runs it against the local mock and checks its output.
// No type assertions anywhere: if a body does not type-check, fix the spec, not this file.
//
// Environment: THREEDCART_BASE_URL (a loopback URL; anything else is refused, the program
// never leaves the machine), THREEDCART_SECURE_URL, THREEDCART_PRIVATE_KEY, THREEDCART_TOKEN.
// Prints one JSON object on stdout; exits 1 with a message on stderr on any surprise.
import createClient from "openapi-fetch";
import type { components, paths } from "../out/customers.js";

type Customer = components["schemas"]["Customer"];
type CustomerCreate = components["schemas"]["CustomerCreate"];
type CustomerUpdateItem = components["schemas"]["CustomerUpdateItem"];
type WriteResult = components["schemas"]["WriteResult"];

const LIST = "/3dCartWebAPI/v1/Customers";
const ONE = "/3dCartWebAPI/v1/Customers/{id}";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function loopback(url: string): string {
  const host = new URL(url).hostname;
  check(["127.0.0.1", "localhost", "[::1]"].includes(host), `refusing non-loopback base URL ${url}`);
  return url;
}

// The security headers are apiKey schemes, which openapi-typescript does not type; this
// record is the one place that names them.
const client = createClient<paths>({
  baseUrl: loopback(env("THREEDCART_BASE_URL")),
  headers: {
    SecureURL: env("THREEDCART_SECURE_URL"),
    PrivateKey: env("THREEDCART_PRIVATE_KEY"),
    Token: env("THREEDCART_TOKEN"),
  },
});

function firstId(results: WriteResult[]): number {
  const first = results[0];
  check(first !== undefined, "an empty write result list");
  const id = Number.parseInt(first.Value, 10);
  check(Number.isInteger(id) && id > 0, `write result Value ${first.Value} is not an id`);
  return id;
}

// An error answer may have no body at all (the spec says so for 400, 404 and 500): openapi-fetch
// then gives `undefined` (Content-Length: 0) or "" (an empty text). Taken in as unknown and checked.
function describeError(error: unknown): { bodiless: boolean; messages: string[] } {
  if (error === undefined || error === "") return { bodiless: true, messages: [] };
  const messages: string[] = [];
  if (Array.isArray(error)) {
    for (const item of error) {
      if (typeof item === "object" && item !== null && "Message" in item && typeof item.Message === "string") {
        messages.push(item.Message);
      }
    }
  }
  return { bodiless: false, messages };
}

async function count(query: { state?: string } = {}): Promise<number> {
  const { data, error, response } = await client.GET(LIST, { params: { query: { ...query, countonly: 1 } } });
  check(data !== undefined, `count: status ${response.status} ${JSON.stringify(error)}`);
  check(!Array.isArray(data), "count: a page instead of {TotalCount}");
  return data.TotalCount;
}

async function getOne(id: number): Promise<Customer> {
  const { data, error, response } = await client.GET(ONE, { params: { path: { id } } });
  check(data !== undefined, `get ${id}: status ${response.status} ${JSON.stringify(error)}`);
  const [customer] = data;
  check(customer !== undefined && customer.CustomerID === id, `get ${id}: not the customer asked for`);
  return customer;
}

async function main(): Promise<void> {
  const total = await count();

  // A page, then a filtered page on the first customer's state.
  const first = await client.GET(LIST, { params: { query: { limit: 5, offset: 1 } } });
  check(first.data !== undefined && Array.isArray(first.data), `list: status ${first.response.status}`);
  const sample = first.data[0];
  check(sample !== undefined && typeof sample.CustomerID === "number", "list: an empty first page");
  const state = sample.BillingState;
  check(typeof state === "string" && state !== "", "list: the first customer has no BillingState");
  const filtered = await client.GET(LIST, { params: { query: { state, limit: 10, offset: 1 } } });
  check(filtered.data !== undefined && Array.isArray(filtered.data), `filtered list: status ${filtered.response.status}`);
  const page = filtered.data;
  check(page.every((c) => c.BillingState === state), `filtered list: a customer outside ${state}`);
  const stateCount = await count({ state });

  const got = await getOne(sample.CustomerID);

  // Create: Email and Password are required by the type; no cast.
  const newCustomer: CustomerCreate = {
    Email: "ts-consumer@example.com",
    Password: "",
    BillingFirstName: "Ada",
    BillingLastName: "Lovelace",
    BillingState: "FL",
    MailList: true,
  };
  const created = await client.POST(LIST, { body: newCustomer });
  check(created.data !== undefined && created.response.status === 201, `create: status ${created.response.status}`);
  const newId = firstId(created.data);

  // Bulk update: every item must carry its CustomerID; only the fields sent change.
  const items: CustomerUpdateItem[] = [
    { CustomerID: newId, BillingCity: "Tampa", Comments: "updated by the TypeScript consumer" },
    { CustomerID: sample.CustomerID, MailList: sample.MailList ?? false },
  ];
  const updated = await client.PUT(LIST, { body: items });
  check(updated.data !== undefined && updated.response.status === 200, `bulk update: status ${updated.response.status}`);
  const afterUpdate = await getOne(newId);

  const deleted = await client.DELETE(ONE, { params: { path: { id: newId } } });
  check(deleted.data !== undefined && deleted.response.status === 200, `delete: status ${deleted.response.status}`);

  // Read the deleted id back: a 404, bodiless against `--bodiless-errors`, handled.
  const gone = await client.GET(ONE, { params: { path: { id: newId } } });
  check(gone.data === undefined, "get after delete: the customer is still there");
  const goneError = describeError(gone.error);

  const result = {
    count: total,
    firstPage: first.data.map((c) => c.CustomerID),
    filter: { state, ids: page.map((c) => c.CustomerID), count: stateCount },
    get: { id: got.CustomerID, email: got.Email ?? null },
    create: { status: created.response.status, id: newId, result: created.data },
    bulkUpdate: {
      status: updated.response.status,
      results: updated.data,
      after: { city: afterUpdate.BillingCity ?? null, comments: afterUpdate.Comments ?? null, email: afterUpdate.Email ?? null },
    },
    delete: { status: deleted.response.status, results: deleted.data },
    getDeleted: {
      status: gone.response.status,
      contentLength: gone.response.headers.get("Content-Length"),
      ...goneError,
    },
    countAfter: await count(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`typescript consumer: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
