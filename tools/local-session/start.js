// `npm run act`'s entry. Plain JavaScript on purpose: an older Node cannot even load the
// TypeScript behind it, so this checks the Node version and the installed dependencies first and
// says what to do, instead of a syntax or module error.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `act: Node ${process.versions.node} runs this, and the project needs Node 24 or newer. Run \`npm run setup\` (it installs Node 24 into node_modules/.bin, which \`npm run\` puts first on PATH), then \`npm run act -- …\` again.`,
  );
  process.exit(2);
}
try {
  await import("commander");
} catch {
  console.error("act: the dependencies are not installed: run `npm run setup` first.");
  process.exit(2);
}
await import("./main.ts");
