// `make docs`, after `redocly build-docs`: make the page load nothing its own Content-Security-Policy
// blocks. Redoc 3 draws the sidebar's "API docs by Redocly" logo from cdn.redoc.ly at run time (an
// <img> its script creates), which `img-src data: blob:` refuses: a broken image and a CSP report
// on every load. Each such logo becomes an inline data: image of the same shape (a wordmark, and a
// monogram for the collapsed sidebar). Then the page is searched for any other remote image, font,
// stylesheet or script URL; one left is an error naming it (a Redoc upgrade that moved its logo, a
// new remote asset), and the page is not kept.
//
// usage: node tools/spec/docs-offline.mjs PAGE.html
import { readFileSync, writeFileSync } from "node:fs";

const page = process.argv[2];
if (!page) {
  console.error("usage: node docs-offline.mjs PAGE.html");
  process.exit(2);
}

const svg = (width, height, body) =>
  "data:image/svg+xml;base64," +
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
      body +
      "</svg>",
  ).toString("base64");
const LETTERS = 'font-family="system-ui, sans-serif" font-weight="600" fill="#5d6b98"';
const LOGOS = new Map([
  ["https://cdn.redoc.ly/redoc/logo-mini-full.svg", svg(50, 12, `<text x="0" y="10" font-size="11" textLength="49" lengthAdjust="spacingAndGlyphs" ${LETTERS}>Redocly</text>`)],
  ["https://cdn.redoc.ly/redoc/logo-mini.svg", svg(12, 14, `<text x="6" y="11.5" font-size="12" text-anchor="middle" ${LETTERS}>R</text>`)],
]);
// A remote URL of something a browser would fetch to show the page (links in the text are fine).
export const REMOTE_ASSET =
  /(?:https?:)?\/\/[^\s'"`()<>\\]+\.(?:svg|png|gif|jpe?g|webp|avif|ico|bmp|woff2?|ttf|otf|eot|css|m?js)(?=[?#\s'"`()<>\\]|$)/gi;

let html = readFileSync(page, "utf8");
for (const [remote, inline] of LOGOS) {
  html = html.split(remote).join(inline);
}
const left = [...new Set(html.match(REMOTE_ASSET) ?? [])];
if (left.length) {
  console.error(`error: ${page} still loads from the network, which its Content-Security-Policy blocks: ${left.join(", ")}`);
  process.exit(1);
}
writeFileSync(page, html);
