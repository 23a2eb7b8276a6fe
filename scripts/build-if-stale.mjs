// `npm start`'s build step: builds only when something the build reads is newer than the last build
// (dist/.built, written after a build succeeds), so a start after the first takes seconds, not a rebuild.
//   node scripts/build-if-stale.mjs           build if stale
//   node scripts/build-if-stale.mjs --stamp   only record that a build just succeeded (npm run build's last step)
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const STAMP = "dist/.built";
const INPUTS = [
  "src",
  "web",
  "scripts/copy-assets.mjs",
  "package.json",
  "npm-shrinkwrap.json",
  "tsconfig.json",
];

/** The newest modification time under `p` (files only; node_modules and dist are not inputs). */
function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(p)) {
    if (entry === "node_modules" || entry === "dist") continue;
    latest = Math.max(latest, newest(path.join(p, entry)));
  }
  return latest;
}

if (process.argv.includes("--stamp")) {
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
} else {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  const changed = Math.max(...INPUTS.map(newest));
  if (changed > built) {
    process.stderr.write(
      built ? "Sources changed since the last build: building…\n" : "Building (first start)…\n",
    );
    execFileSync("npm", ["run", "build"], { stdio: "inherit" });
  }
}
