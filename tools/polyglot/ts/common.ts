// What the three TypeScript clients share: the environment, a loopback guard, the output.
// Environment: THREEDCART_BASE_URL (a loopback URL; anything else is refused),
// THREEDCART_SECURE_URL, THREEDCART_PRIVATE_KEY, THREEDCART_TOKEN, POLYGLOT_EMAIL.

export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function loopback(url: string): string {
  const host = new URL(url).hostname;
  check(["127.0.0.1", "localhost", "[::1]"].includes(host), `refusing non-loopback base URL ${url}`);
  return url;
}

export const credentials = (): { SecureURL: string; PrivateKey: string; Token: string } => ({
  SecureURL: env("THREEDCART_SECURE_URL"),
  PrivateKey: env("THREEDCART_PRIVATE_KEY"),
  Token: env("THREEDCART_TOKEN"),
});

/** An id no store of the mock has: reading it is a 404 (bodiless with --bodiless-errors). */
export const MISSING_ID = 2147483000;

/** The id in a write result's `Value` (a string, per the spec). */
export function writtenId(value: string | undefined): number {
  const id = Number.parseInt(value ?? "", 10);
  check(Number.isInteger(id) && id > 0, `write result Value ${String(value)} is not an id`);
  return id;
}

export interface Outcome {
  client: string;
  count: number;
  page: number[];
  created: number;
  email: string | null;
  countAfter: number;
  missing: { status: number; check: string; body: unknown };
}

export function run(main: () => Promise<Outcome>): void {
  main().then(
    (outcome) => process.stdout.write(`${JSON.stringify(outcome)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
