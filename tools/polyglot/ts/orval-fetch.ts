// orval's fetch mutator: the base URL and the store's three headers, then orval's own answer
// shape `{ data, status, headers }`. Like orval's generated fetch code, an empty body becomes `{}`,
// which the generated types call an ErrorList for a 404: check `status`, then the body's shape.
import { credentials, env, loopback } from "./common";

const base = (): string => loopback(env("THREEDCART_BASE_URL"));

export const customFetch = async <T>(url: string, options: RequestInit): Promise<T> => {
  const headers = new Headers(options.headers);
  for (const [name, value] of Object.entries(credentials())) headers.set(name, value);
  const res = await fetch(`${base()}${url}`, { ...options, headers });
  const body = [204, 205, 304].includes(res.status) ? null : await res.text();
  const data: unknown = body ? JSON.parse(body) : {};
  // orval's mutator contract: T is the operation's `{ data, status, headers }` union, picked by the caller.
  return { data, status: res.status, headers: res.headers } as T;
};
