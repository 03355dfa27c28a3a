// Compiles only if the types generated from openapi/customers.yaml carry the shapes other teams rely on.
import type { components, operations, paths } from "./out/customers";

type Customer = components["schemas"]["Customer"];
type WriteResult = components["schemas"]["WriteResult"];

const customer: Customer = { CustomerID: 1, Email: "a@example.com", BillingTaxID: null };
const written: WriteResult = { Key: "CustomerID", Value: "1", Status: "201", Message: "Created successfully" };
type ListQuery = NonNullable<operations["listCustomers"]["parameters"]["query"]>;
const query: ListQuery = { limit: 500, offset: 1, countonly: 1, lastupdatestart: "11/28/2026 00:00:00" };
type GroupPath = paths["/3dCartWebAPI/v1/CustomerGroups/{id}/Customers"]["get"]["parameters"]["path"];
const group: GroupPath = { id: 3 };

export const samples = [customer, written, query, group];
