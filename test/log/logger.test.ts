import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { formatTime, goQuote, quoteIfNeeded } from '../../src/log/format.ts';
import { createLogger, parseLogLevel, type LoggerOptions } from '../../src/log/logger.ts';

// Every test starts at T0 on a mocked Date; mock.timers.tick(ms) moves it.
const T0 = Date.parse('2026-03-04T05:06:07.120Z');
beforeEach(() => mock.timers.enable({ apis: ['Date'], now: T0 }));
afterEach(() => mock.timers.reset());

/** A logger writing into an array. */
function capture(options: LoggerOptions = {}): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l), ...options });
  return { lines, logger };
}

describe('logrus text format', () => {
  it('writes time, level, msg, then the fields sorted by key', () => {
    const { lines, logger } = capture({ format: 'text' });
    logger.info('announce', { version: '3.2.0', app: 'kata-monitor', pid: 42 });
    assert.deepEqual(lines, ['time="2026-03-04T05:06:07.12Z" level=info msg=announce app=kata-monitor pid=42 version=3.2.0\n']);
  });

  it('writes warn as "warning", as logrus does', () => {
    const { lines, logger } = capture({ format: 'text' });
    logger.warn('careful');
    assert.match(lines[0] ?? '', / level=warning msg=careful\n$/);
  });

  it('quotes a value with any character outside [a-zA-Z0-9-._/@^+], with Go\'s %q escapes', () => {
    assert.equal(quoteIfNeeded('/run/vc/sbs'), '/run/vc/sbs');
    assert.equal(quoteIfNeeded('a-b_c.d@e^f+g'), 'a-b_c.d@e^f+g');
    assert.equal(quoteIfNeeded('127.0.0.1:8090'), '"127.0.0.1:8090"');
    assert.equal(quoteIfNeeded('two words'), '"two words"');
    assert.equal(quoteIfNeeded('say "hi"\n'), '"say \\"hi\\"\\n"');
    assert.equal(quoteIfNeeded(''), '', 'the empty string stays unquoted (QuoteEmptyFields is off)');
    assert.equal(goQuote('\x00\x07\x7f\t\\'), '"\\x00\\a\\x7f\\t\\\\"');
    assert.equal(goQuote('héllo'), '"héllo"');
  });

  it('renders values the way fmt.Sprint would', () => {
    const { lines, logger } = capture({ format: 'text' });
    logger.error('scrape failed', { error: new Error('connect ENOENT /run/x.sock'), ok: false, n: 1.5, none: null, ids: ['a', 'b'] });
    assert.equal(
      lines[0],
      'time="2026-03-04T05:06:07.12Z" level=error msg="scrape failed" error="connect ENOENT /run/x.sock" ids="[a b]" n=1.5 none="<nil>" ok=false\n',
    );
  });

  it('renames fields that clash with time, level or msg to fields.*', () => {
    const { lines, logger } = capture({ format: 'text' });
    logger.info('m', { msg: 'x', level: 'y' });
    assert.match(lines[0] ?? '', / msg=m fields.level=y fields.msg=x\n$/);
  });
});

describe('timestamps (Go RFC3339Nano, UTC)', () => {
  it('drop trailing zeros of the fraction, and the fraction on a whole second', () => {
    assert.equal(formatTime(new Date('2026-03-04T05:06:07.120Z')), '2026-03-04T05:06:07.12Z');
    assert.equal(formatTime(new Date('2026-03-04T05:06:07.001Z')), '2026-03-04T05:06:07.001Z');
    assert.equal(formatTime(new Date('2026-03-04T05:06:07.000Z')), '2026-03-04T05:06:07Z');
  });
});

describe('JSON format', () => {
  it('writes one object a line: time, level, msg, then the fields', () => {
    const { lines, logger } = capture({ format: 'json' });
    logger.warn('slow shim', { sandbox: 'abc', durationMs: 2900, error: new Error('timeout'), big: 10n });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.endsWith('\n'));
    assert.deepEqual(Object.entries(JSON.parse(lines[0] ?? '')), [
      ['time', '2026-03-04T05:06:07.12Z'],
      ['level', 'warning'],
      ['msg', 'slow shim'],
      ['big', '10'],
      ['durationMs', 2900],
      ['error', 'timeout'],
      ['sandbox', 'abc'],
    ]);
  });

  it('survives a field that cannot be serialized', () => {
    const { lines, logger } = capture({ format: 'json' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    logger.info('odd', { cyclic });
    assert.equal(JSON.parse(lines[0] ?? '').msg, 'odd');
  });
});

describe('levels', () => {
  it('drop lines below the logger\'s level', () => {
    const { lines, logger } = capture({ level: 'warn' });
    logger.debug('no');
    logger.info('no');
    logger.warn('yes');
    logger.error('yes');
    assert.equal(lines.length, 2);
    assert.equal(logger.enabled('info'), false);
    assert.equal(logger.enabled('error'), true);
  });

  it('are parsed as logrus.ParseLevel does', () => {
    for (const name of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic']) assert.equal(parseLogLevel(name), name);
    assert.equal(parseLogLevel('WARNING'), 'warn');
    assert.equal(parseLogLevel(' Debug '), 'debug');
    assert.equal(parseLogLevel('verbose'), undefined);
  });

  it('above error silence the logger', () => {
    for (const level of ['fatal', 'panic'] as const) {
      const { lines, logger } = capture({ level });
      logger.error('no');
      assert.equal(lines.length, 0);
      assert.equal(logger.enabled('error'), false);
    }
  });
});

describe('child loggers', () => {
  it('add their fields to every line; the call\'s fields win', () => {
    const { lines, logger } = capture({ format: 'text' });
    logger.child({ sandbox: 's1', component: 'scrape' }).info('hello', { component: 'cri' });
    assert.match(lines[0] ?? '', / msg=hello component=cri sandbox=s1\n$/);
  });
});

describe('rate limiting of repeated messages', () => {
  const limited = (): ReturnType<typeof capture> => capture({ format: 'text', rateLimit: { intervalMs: 60_000 } });

  it('writes a repeated message once per interval and counts what it held back', () => {
    const { lines, logger } = limited();
    logger.warn('scrape failed', { sandbox: 's1' });
    mock.timers.tick(15_000);
    logger.warn('scrape failed', { sandbox: 's1' });
    mock.timers.tick(15_000);
    logger.warn('scrape failed', { sandbox: 's1' });
    assert.equal(lines.length, 1);
    mock.timers.tick(30_000);
    logger.warn('scrape failed', { sandbox: 's1' });
    assert.equal(lines.length, 2);
    assert.match(lines[1] ?? '', /^time="2026-03-04T05:07:07.12Z" level=warning msg="scrape failed" sandbox=s1 suppressed=2\n$/);
    mock.timers.tick(60_000);
    logger.warn('scrape failed', { sandbox: 's1' });
    assert.doesNotMatch(lines[2] ?? '', /suppressed/);
  });

  it('keeps messages apart by level, text and fields', () => {
    const { lines, logger } = limited();
    logger.warn('scrape failed', { sandbox: 's1' });
    logger.warn('scrape failed', { sandbox: 's2' });
    logger.error('scrape failed', { sandbox: 's1' });
    logger.warn('other', { sandbox: 's1' });
    assert.equal(lines.length, 4);
  });

  it('is shared by a logger and its children', () => {
    const { lines, logger } = limited();
    logger.child({ sandbox: 's1' }).warn('scrape failed');
    logger.child({ sandbox: 's1' }).warn('scrape failed');
    logger.warn('scrape failed', { sandbox: 's1' });
    assert.equal(lines.length, 1);
  });

  it('is off unless asked for', () => {
    const { lines, logger } = capture();
    logger.info('same');
    logger.info('same');
    assert.equal(lines.length, 2);
  });

  it('remembers 10,000 messages, forgetting the least recently seen', () => {
    const { lines, logger } = limited();
    logger.warn('a');
    logger.warn('b');
    logger.warn('a'); // held back: a is now seen more recently than b
    for (let i = 1; i < 10_000; i++) logger.warn('filler', { i }); // the 10,001st message: b is forgotten
    assert.equal(lines.length, 2 + 9_999);
    logger.warn('a');
    assert.equal(lines.length, 2 + 9_999, 'a is still remembered, so held back');
    logger.warn('b');
    assert.equal(lines.length, 2 + 9_999 + 1, 'b was forgotten, so written again within the interval');
    assert.match(lines.at(-1) ?? '', / msg=b\n$/);
    mock.timers.tick(60_000);
    logger.warn('a');
    assert.match(lines.at(-1) ?? '', / msg=a suppressed=2\n$/, 'a kept its count');
  });
});
