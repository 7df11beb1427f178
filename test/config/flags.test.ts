import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatVersion, parseFlags, usage, type FlagName, type Flags, type ParseResult } from '../../src/cli/flags.ts';

function run(argv: string[]): { flags: Flags; explicit: ReadonlySet<FlagName> } {
  const result = parseFlags(argv);
  assert.equal(result.kind, 'run', JSON.stringify(result));
  return result as Extract<ParseResult, { kind: 'run' }>;
}

function failure(argv: string[]): Extract<ParseResult, { kind: 'error' }> {
  const result = parseFlags(argv);
  assert.equal(result.kind, 'error', JSON.stringify(result));
  return result as Extract<ParseResult, { kind: 'error' }>;
}

describe('command line flags (Go flag package semantics)', () => {
  it('defaults to upstream kata-monitor values with nothing given', () => {
    const { flags, explicit } = run([]);
    assert.deepEqual(flags, {
      listenAddress: '127.0.0.1:8090',
      runtimeEndpoint: '/run/containerd/containerd.sock',
      logLevel: 'info',
      logFormat: 'text',
      sandboxRoots: ['/run/vc/sbs', '/run/kata'],
      demo: false,
      openMetrics: false,
      format: 'text',
      output: 'table',
      args: [],
    });
    assert.equal(explicit.size, 0);
  });

  for (const argv of [
    ['-listen-address=0.0.0.0:9090'],
    ['-listen-address', '0.0.0.0:9090'],
    ['--listen-address=0.0.0.0:9090'],
    ['--listen-address', '0.0.0.0:9090'],
  ]) {
    it(`accepts ${argv.join(' ')}`, () => {
      const { flags, explicit } = run(argv);
      assert.equal(flags.listenAddress, '0.0.0.0:9090');
      assert.deepEqual([...explicit], ['listen-address']);
    });
  }

  it('reads every flag', () => {
    const { flags, explicit } = run([
      '-runtime-endpoint=unix:///run/crio/crio.sock',
      '-log-level',
      'debug',
      '--log-format=json',
      '-config',
      '/etc/kata-monitor.yaml',
      '-demo',
      '-openmetrics',
    ]);
    assert.equal(flags.runtimeEndpoint, 'unix:///run/crio/crio.sock');
    assert.equal(flags.logLevel, 'debug');
    assert.equal(flags.logFormat, 'json');
    assert.equal(flags.config, '/etc/kata-monitor.yaml');
    assert.equal(flags.demo, true);
    assert.equal(flags.openMetrics, true);
    assert.equal(explicit.size, 6);
  });

  it('takes a value that starts with a dash after a non-boolean flag, as Go does', () => {
    assert.equal(run(['-listen-address', '-x']).flags.listenAddress, '-x');
  });

  it('accepts "warning" as a log level, as logrus does', () => {
    assert.equal(run(['-log-level=warning']).flags.logLevel, 'warn');
  });

  it('lets the last occurrence of a flag win', () => {
    assert.equal(run(['-log-level=debug', '-log-level=error']).flags.logLevel, 'error');
  });

  describe('boolean flags', () => {
    it('are set by their name alone', () => {
      assert.equal(run(['-demo']).flags.demo, true);
    });
    it('take =true and =false (and strconv.ParseBool spellings)', () => {
      assert.equal(run(['-demo=false']).flags.demo, false);
      assert.equal(run(['--openmetrics=true']).flags.openMetrics, true);
      assert.equal(run(['-demo=1']).flags.demo, true);
      assert.equal(run(['-demo=F']).flags.demo, false);
    });
    it('never consume the next argument: "-demo false" stops parsing at "false"', () => {
      const { flags } = run(['-demo', 'false', '-log-level=debug']);
      assert.equal(flags.demo, true);
      assert.equal(flags.logLevel, 'info');
      assert.deepEqual(flags.args, ['false', '-log-level=debug']);
    });
    it('reject other values like Go: invalid boolean value', () => {
      assert.equal(failure(['-demo=yes']).message, 'invalid boolean value "yes" for -demo: parse error');
    });
  });

  describe('sandbox roots', () => {
    it('replace the defaults with the first -sandbox-root and add the next ones', () => {
      assert.deepEqual(run(['-sandbox-root', '/a', '--sandbox-root=/b']).flags.sandboxRoots, ['/a', '/b']);
    });
  });

  describe('the end of the flags', () => {
    it('is "--", which is consumed', () => {
      const { flags } = run(['-demo', '--', '-log-level=debug']);
      assert.equal(flags.logLevel, 'info');
      assert.deepEqual(flags.args, ['-log-level=debug']);
    });
    it('is the first non-flag argument', () => {
      assert.deepEqual(run(['extra', '-demo']).flags.args, ['extra', '-demo']);
    });
    it('is a lone "-"', () => {
      assert.deepEqual(run(['-', '-demo']).flags.args, ['-', '-demo']);
    });
  });

  describe('help', () => {
    for (const arg of ['-h', '-help', '--help', '--h']) {
      it(`${arg} asks for usage (exit 0, as Go since 1.15)`, () => {
        const result = parseFlags([arg]);
        assert.equal(result.kind, 'help');
        assert.ok(result.kind === 'help' && result.text.startsWith('Usage of kata-monitor:\n'));
      });
    }

    it('lists the flags sorted in Go\'s PrintDefaults layout, with defaults', () => {
      const text = usage();
      assert.match(text, /\n {2}-listen-address string\n {4}\tThe address to listen on for HTTP requests\. \(default "127\.0\.0\.1:8090"\)\n/);
      assert.match(text, /\n {2}-demo\n {4}\t/);
      const names = [...text.matchAll(/^ {2}-([a-z-]+)/gm)].map((m) => m[1]);
      assert.deepEqual(names, ['config', 'demo', 'listen-address', 'log-format', 'log-level', 'openmetrics', 'runtime-endpoint', 'sandbox-root']);
    });

    it('uses the program name it is given', () => {
      const result = parseFlags(['-h'], '/usr/bin/kata-monitor');
      assert.ok(result.kind === 'help' && result.text.startsWith('Usage of /usr/bin/kata-monitor:\n'));
    });
  });

  describe('errors (usage on stderr, exit 2)', () => {
    it('names an unknown flag', () => {
      const err = failure(['-foo']);
      assert.equal(err.message, 'flag provided but not defined: -foo');
      assert.equal(err.exitCode, 2);
      assert.ok(err.usage.startsWith('Usage of kata-monitor:'));
    });
    it('names an unknown flag given with two dashes and a value', () => {
      assert.equal(failure(['--foo=bar']).message, 'flag provided but not defined: -foo');
    });
    it('rejects -version: only "version" or "--version" alone print the version', () => {
      assert.equal(failure(['-version']).message, 'flag provided but not defined: -version');
    });
    it('names a bad value and why', () => {
      assert.equal(failure(['-log-level=loud']).message, 'invalid value "loud" for flag -log-level: not a valid logrus Level: "loud"');
      assert.equal(failure(['-log-format', 'xml']).message, 'invalid value "xml" for flag -log-format: unknown log format "xml" (use text or json)');
    });
    it('reports a missing argument', () => {
      assert.equal(failure(['-listen-address']).message, 'flag needs an argument: -listen-address');
    });
    it('reports bad flag syntax', () => {
      assert.equal(failure(['---x']).message, 'bad flag syntax: ---x');
      assert.equal(failure(['-=x']).message, 'bad flag syntax: -=x');
    });
  });

  describe('one-shot commands', () => {
    it('are the first argument, followed by the daemon\'s flags and their own', () => {
      const metrics = parseFlags(['metrics', '-sandbox-root', '/r', '-filter-family=kata_hypervisor,kata_agent', '-format', 'json', '-sandbox', 'abc']);
      assert.ok(metrics.kind === 'run');
      assert.equal(metrics.command, 'metrics');
      assert.deepEqual(metrics.flags.sandboxRoots, ['/r']);
      assert.deepEqual(metrics.flags.filterFamily, ['kata_hypervisor', 'kata_agent']);
      assert.equal(metrics.flags.format, 'json');
      assert.equal(metrics.flags.sandbox, 'abc');
      const sandboxes = parseFlags(['sandboxes', '-o', 'json', '--runtime-endpoint=unix:///c.sock']);
      assert.ok(sandboxes.kind === 'run' && sandboxes.command === 'sandboxes');
      assert.equal(sandboxes.flags.output, 'json');
      assert.equal(sandboxes.flags.runtimeEndpoint, 'unix:///c.sock');
      const validate = parseFlags(['validate', '-config', '/etc/k.yaml']);
      assert.ok(validate.kind === 'run' && validate.command === 'validate');
      assert.equal(validate.flags.config, '/etc/k.yaml');
    });
    it('leave the daemon the default: no command word, no command', () => {
      const daemon = parseFlags(['-listen-address=0.0.0.0:8090']);
      assert.ok(daemon.kind === 'run' && daemon.command === undefined);
    });
    it('are only the words listed: an object\'s own names (toString, constructor) are no command', () => {
      for (const word of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
        const r = parseFlags([word]);
        assert.ok(r.kind === 'run' && r.command === undefined, word);
      }
    });
    it('own their flags: another command\'s flag, or one given to the daemon, is not defined (exit 2)', () => {
      assert.equal(failure(['sandboxes', '-format=json']).message, 'flag provided but not defined: -format');
      assert.equal(failure(['metrics', '-o', 'json']).message, 'flag provided but not defined: -o');
      assert.equal(failure(['-sandbox', 'abc']).message, 'flag provided but not defined: -sandbox');
      assert.equal(failure(['validate']).message, 'validate needs -config FILE');
    });
    it('check their flags\' values', () => {
      assert.equal(failure(['metrics', '-format=yaml']).message, 'invalid value "yaml" for flag -format: unknown format "yaml" (use text, openmetrics or json)');
      assert.equal(failure(['sandboxes', '-o=wide']).message, 'invalid value "wide" for flag -o: unknown output "wide" (use table or json)');
      assert.equal(failure(['sandboxes', '-o=wide']).exitCode, 2);
    });
    it('are listed in the usage, each with its own flags under its name', () => {
      const text = usage();
      for (const c of ['metrics', 'sandboxes', 'validate', 'version']) assert.match(text, new RegExp(`\\n {2}${c}\\n {4}\\t`));
      assert.match(usage('kata-monitor', 'metrics'), /^Usage of kata-monitor metrics: .*\n(.|\n)* {2}-filter-family A,B\n(.|\n)* {2}-format string\n(.|\n)* {2}-sandbox ID\n/);
      assert.doesNotMatch(usage('kata-monitor', 'metrics'), /-o string/);
      const help = parseFlags(['sandboxes', '-h']);
      assert.ok(help.kind === 'help' && help.text.startsWith('Usage of kata-monitor sandboxes: ') && help.text.includes('  -o string'));
    });
  });

  describe('version', () => {
    it('is "version" or "--version" as the only argument', () => {
      assert.deepEqual(parseFlags(['version']), { kind: 'version' });
      assert.deepEqual(parseFlags(['--version']), { kind: 'version' });
    });
    it('is an ordinary argument otherwise', () => {
      assert.deepEqual(run(['-demo', 'version']).flags.args, ['version']);
    });
    it('prints upstream\'s template with the Node version in place of Go\'s', () => {
      const text = formatVersion({ version: '3.2.0', gitCommit: 'abc123', nodeVersion: 'v24.9.0', os: 'linux', arch: 'amd64' });
      assert.equal(text, 'kata-monitor\n Version:\t3.2.0\n Node version:\tv24.9.0\n Git commit:\tabc123\n OS/Arch:\tlinux/amd64\n');
    });
    it('names the architecture as Go does', () => {
      const text = formatVersion({ version: '1' });
      assert.match(text, / Git commit:\tunknown-commit\n/);
      if (process.arch === 'x64') assert.match(text, /OS\/Arch:\t\w+\/amd64\n$/);
    });
  });
});
