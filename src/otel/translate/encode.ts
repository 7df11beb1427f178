// One walk, every form a push needs: the sinks the exporters asked for are written at once
// (the walk calls each in turn) and their batches zipped into requests.

import type { Snapshot } from '../../scrape/snapshot.ts';
import { OtlpRequest, type Forms } from '../requests.ts';
import { JsonSink } from './json-sink.ts';
import { PointsSink } from './points-sink.ts';
import { ProtoSink } from './proto-sink.ts';
import type { Plan, Translator } from './walk.ts';

export type EncodedPush = Awaited<ReturnType<typeof encodeSnapshot>>;

export async function encodeSnapshot(translator: Translator, snapshot: Snapshot, plan: Plan, forms: Forms) {
  const proto = forms.proto || forms.protoGzip ? new ProtoSink(plan.resource, { plain: forms.proto, gzip: forms.protoGzip }) : undefined;
  const json = forms.json || forms.jsonGzip ? new JsonSink(plan.resource, { plain: forms.json, gzip: forms.jsonGzip }) : undefined;
  const points = forms.points ? new PointsSink(plan.resource) : undefined;
  const walked = await translator.translate(snapshot, plan, [proto, json, points].filter((s) => s !== undefined));
  const p = proto?.finish();
  const j = json?.finish();
  const o = points?.finish();
  // Every sink makes one request per batch of the walk.
  const n = p?.length ?? j?.length ?? o?.length ?? 0;
  const requests = Array.from({ length: n }, (_, k) => {
    const forms = { proto: p?.[k]?.plain, protoGzip: p?.[k]?.gzip, json: j?.[k]?.plain, jsonGzip: j?.[k]?.gzip, objects: o?.[k] };
    return new OtlpRequest(walked.batches[k]!, forms);
  });
  return { requests, points: walked.batches.reduce((a, b) => a + b, 0), errors: walked.errors };
}
