// The Node.js version check that runs before anything else is loaded: the
// dependencies need a recent Node, and on an older one they fail later with
// errors that say nothing of the cause. No imports here, on purpose.

/** chokidar 6's minimum, the highest of our dependencies'. */
export const NEEDED_NODE = [22, 22] as const;

/** Exits 1 with one line when this Node is older than NEEDED_NODE. */
export function requireNode(): void {
  const found = process.versions.node;
  const [major = 0, minor = 0] = found.split('.').map(Number);
  if (major > NEEDED_NODE[0] || (major === NEEDED_NODE[0] && minor >= NEEDED_NODE[1])) return;
  process.stderr.write(
    `kata-monitor: needs Node.js >= ${NEEDED_NODE.join('.')}, found ${found}; inside the project run \`npx kata-monitor …\` (npm ci installs Node 24), or install Node.js 24\n`,
  );
  process.exit(1);
}
