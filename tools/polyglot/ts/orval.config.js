// orval's configuration; run.py sets the paths (the spec, and the build folder holding a copy of
// this folder, where orval writes gen/orval/customers.ts next to orval-fetch.ts).
const path = require("node:path");

const build = process.env.POLYGLOT_TS_BUILD;
if (!build || !process.env.POLYGLOT_SPEC) throw new Error("run tools/polyglot/run.py, which sets POLYGLOT_SPEC and POLYGLOT_TS_BUILD");

module.exports = {
  customers: {
    input: { target: process.env.POLYGLOT_SPEC },
    output: {
      target: path.join(build, "gen", "orval", "customers.ts"),
      client: "fetch",
      mode: "single",
      // The fetch client calls this function for every request: the store's base URL and its three
      // security headers are known only at run time (orval's own `baseUrl` is fixed at generation).
      override: { mutator: { path: path.join(build, "orval-fetch.ts"), name: "customFetch" } },
    },
  },
};
