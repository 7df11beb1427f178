import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTime, goQuote, quoteIfNeeded } from '../../src/log/format.ts';
import { createLogger, parseLogLevel, type LoggerOptions } from '../../src/log/logger.ts';
import { RateLimiter } from '../../src/log/rate-limit.ts';

const T0 = Date.parse('2026-03-04T05:06:07.120Z');

/** A logger writing into an array, with a clock the test moves. */
function capture(options: LoggerOptions = {}): { lines: string[]; clock: { now: number }; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const clock = { now: T0 };
  const logger = createLogger({ write: (l) => lines.push(l), now: () => new Date(clock.now), ...options });
  return { lines, clock, logger };
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
    logger.log('fatal', 'yes');
    assert.equal(lines.length, 2);
    assert.equal(logger.enabled('info'), false);
    assert.equal(logger.enabled('error'), true);
  });

  it('are parsed as logrus.ParseLevel does', () => {
    assert.equal(parseLogLevel('WARNING'), 'warn');
    assert.equal(parseLogLevel(' Debug '), 'debug');
    assert.equal(parseLogLevel('verbose'), undefined);
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
    const { lines, clock, logger } = limited();
    logger.warn('scrape failed', { sandbox: 's1' });
    clock.now += 15_000;
    logger.warn('scrape failed', { sandbox: 's1' });
    clock.now += 15_000;
    logger.warn('scrape failed', { sandbox: 's1' });
    assert.equal(lines.length, 1);
    clock.now += 30_000;
    logger.warn('scrape failed', { sandbox: 's1' });
    assert.equal(lines.length, 2);
    assert.match(lines[1] ?? '', / msg="scrape failed" sandbox=s1 suppressed=2\n$/);
    clock.now += 60_000;
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

  it('can ignore fields that vary between copies of one message', () => {
    const { lines, logger } = capture({ rateLimit: { intervalMs: 60_000, ignoreFields: ['durationMs'] } });
    logger.warn('slow', { sandbox: 's1', durationMs: 3001 });
    logger.warn('slow', { sandbox: 's1', durationMs: 3007 });
    assert.equal(lines.length, 1);
  });

  it('never holds back fatal or panic lines', () => {
    const { lines, logger } = limited();
    logger.log('fatal', 'cannot listen');
    logger.log('fatal', 'cannot listen');
    assert.equal(lines.length, 2);
  });

  it('is off unless asked for', () => {
    const { lines, logger } = capture();
    logger.info('same');
    logger.info('same');
    assert.equal(lines.length, 2);
  });

  it('remembers a bounded number of messages, forgetting the least recently seen', () => {
    const limiter = new RateLimiter({ intervalMs: 1000, maxKeys: 2 });
    assert.deepEqual(limiter.check('info', 'a', {}, 0), { write: true, suppressed: 0 });
    assert.deepEqual(limiter.check('info', 'b', {}, 0), { write: true, suppressed: 0 });
    assert.deepEqual(limiter.check('info', 'a', {}, 1), { write: false });
    limiter.check('info', 'c', {}, 2); // evicts b, the least recently seen
    assert.equal(limiter.size, 2);
    assert.deepEqual(limiter.check('info', 'a', {}, 1000), { write: true, suppressed: 1 }, 'a kept its count');
    assert.deepEqual(limiter.check('info', 'b', {}, 1001), { write: true, suppressed: 0 }, 'b was forgotten');
  });
});
