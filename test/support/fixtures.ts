// What many tests read or build alike: the recorded shim bodies under
// test/fixtures/, and the model Go's parser builds of a text body.

import { readFileSync } from 'node:fs';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { parseFamilies } from '../../src/exposition/scan.ts';

/** The two recorded shim bodies, by name under test/fixtures/. */
export const FIXTURES = ['shim-metrics-a.prom', 'shim-metrics-b.prom'] as const;

/** A file under test/fixtures/, as bytes. */
export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
}

/** The model Go's parser builds of this text (parseFamilies on its UTF-8 bytes). */
export function parseText(text: string): MetricFamily[] {
  return parseFamilies(Buffer.from(text));
}
