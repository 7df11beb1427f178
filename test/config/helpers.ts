import assert from 'node:assert/strict';
import { parseFlags, type ParseResult } from '../../src/cli/flags.ts';
import { loadConfig, type Config } from '../../src/components.ts';
import type { LoadResult } from '../../src/config/load.ts';

/** Strips the common indentation so YAML can sit indented in a test. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, s, i) => out + (i > 0 ? String(values[i - 1]) : '') + s, '').replace(/^\n/, '');
  const indents = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const cut = Math.min(...indents);
  return text
    .split('\n')
    .map((l) => l.slice(cut))
    .join('\n');
}

export interface LoadArgs {
  /** Extra command-line arguments. */
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** Loads `text` as the --config file (or no file when undefined), with flags. */
export function load(text: string | undefined, args: LoadArgs = {}): LoadResult<Config> {
  const argv = [...(text === undefined ? [] : ['-config', 'kata-monitor.yaml']), ...(args.argv ?? [])];
  const parsed: ParseResult = parseFlags(argv);
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') throw new Error('unreachable');
  return loadConfig({
    flags: parsed.flags,
    explicitFlags: parsed.explicit,
    env: args.env ?? {},
    readFile: (path) => {
      assert.equal(path, 'kata-monitor.yaml');
      return text ?? '';
    },
  });
}

export function loadOk(text: string | undefined, args: LoadArgs = {}): { config: Config; warnings: string[] } {
  const result = load(text, args);
  if (!result.ok) assert.fail(`expected the config to load, got:\n${result.errors.join('\n')}`);
  return { config: result.config, warnings: result.warnings };
}

export function loadErrors(text: string, args: LoadArgs = {}): string[] {
  const result = load(text, args);
  if (result.ok) assert.fail('expected config errors, got none');
  return result.errors;
}
