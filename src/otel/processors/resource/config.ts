// The resource processor: attributes of the resource every metric carries,
// inserted, updated, upserted or deleted in order (README.md).

import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { Attributes } from '@opentelemetry/api';
import type { ComponentType } from '../../../config/types.ts';
import { optional, required, type KeyTree, leaf } from '../../../config/reader.ts';

export interface ResourceConfig {
  readonly type: 'resource';
  readonly name: string;
  readonly attributes: readonly { readonly key: string; readonly action: 'insert' | 'update' | 'upsert' | 'delete'; readonly value?: string | number | boolean }[];
}

const ATTRIBUTE_KEYS = { key: leaf, value: leaf, action: leaf } satisfies KeyTree;

export const resourceProcessor: ComponentType<ResourceConfig> = {
  keys: { attributes: ATTRIBUTE_KEYS },
  read(r, { id, entries: m }) {
    const items = r.list(m.get('attributes')) ?? [];
    if (items.length === 0) r.error(m.get('attributes'), 'a resource processor needs at least one attribute action');
    const attributes = items.map((item) => {
      const a = r.map(item, ATTRIBUTE_KEYS);
      if (!a) return undefined;
      const key = required(r, a, 'key');
      if (!a.has('action')) r.error(a.get('action'), 'required (insert, update, upsert or delete)');
      const action = r.oneOf(a.get('action'), ['insert', 'update', 'upsert', 'delete'] as const);
      const value = r.scalar(a.get('value'));
      if (action !== undefined && action !== 'delete' && value === undefined) r.error(a.get('value'), `required for action "${action}"`);
      if (action === 'delete' && a.has('value')) r.warn(a.get('value'), 'ignored for action "delete"');
      return key !== undefined && action !== undefined ? { key, action, ...optional('value', action === 'delete' ? undefined : value) } : undefined;
    });
    return { type: 'resource', name: id, attributes: attributes.filter((a) => a !== undefined) };
  },
};

/** The resource after the processor's actions. */
export function editResource(resource: Resource, config: ResourceConfig): Resource {
  const attrs: Attributes = { ...resource.attributes };
  for (const a of config.attributes) {
    const present = a.key in attrs;
    if (a.action === 'delete') delete attrs[a.key];
    else if (a.value !== undefined && (a.action === 'upsert' || (a.action === 'insert' && !present) || (a.action === 'update' && present))) attrs[a.key] = a.value;
  }
  return resourceFromAttributes(attrs);
}
