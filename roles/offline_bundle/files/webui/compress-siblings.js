// Writes <target>.gz and <target>.br of each <source>, deterministically: Alertmanager embeds its UI files as gzip
// and Brotli variants only, and decompresses for a client that takes neither.
// Usage: node compress-siblings.js SOURCE TARGET [SOURCE TARGET ...]
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error("usage: node compress-siblings.js SOURCE TARGET [SOURCE TARGET ...]");
  process.exit(2);
}
for (let i = 0; i < args.length; i += 2) {
  const content = fs.readFileSync(args[i]);
  const target = args[i + 1];
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target + ".gz", zlib.gzipSync(content, { level: 9 }));
  fs.writeFileSync(target + ".br", zlib.brotliCompressSync(content, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
}
