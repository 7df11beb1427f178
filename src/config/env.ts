// `${env:VAR}` substitution as the OpenTelemetry Collector does it: applied to
// each scalar value after the YAML is parsed (never to keys or comments, and a
// value cannot inject YAML), before the value is converted to its type.
//
//   ${env:VAR}           the variable's value; unset → an error
//   ${env:VAR:-default}  the default when VAR is unset (an empty VAR stays empty,
//                        as in the collector's env provider)
//   ${VAR}               same as ${env:VAR} (the collector's default scheme)
//   $$                   a literal $
//   a lone $             kept as is

export type Env = Readonly<Record<string, string | undefined>>;

export type Substituted = { ok: true; value: string } | { ok: false; errors: string[] };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function substituteEnv(text: string, env: Env): Substituted {
  if (!text.includes('$')) return { ok: true, value: text };
  let out = '';
  const errors: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next !== '{') {
      out += '$';
      i++;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) {
      errors.push(`unterminated "\${" in "${text}"`);
      break;
    }
    const inner = text.slice(i + 2, end);
    i = end + 1;
    const ref = parseReference(inner);
    if (typeof ref === 'string') {
      errors.push(ref);
      continue;
    }
    const value = env[ref.name];
    if (value !== undefined) out += value;
    else if (ref.fallback !== undefined) out += ref.fallback;
    else errors.push(`environment variable "${ref.name}" is not set (write \${env:${ref.name}:-default} to give a default)`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

function parseReference(inner: string): { name: string; fallback?: string } | string {
  let body = inner;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(?!-)/.exec(inner);
  if (scheme) {
    if (scheme[1] !== 'env') return `unsupported config provider "${scheme[1]}" in "\${${inner}}" (only env is supported)`;
    body = inner.slice(scheme[0].length);
  }
  const sep = body.indexOf(':-');
  const name = sep < 0 ? body : body.slice(0, sep);
  if (!NAME.test(name)) return `invalid environment variable name "${name}" in "\${${inner}}"`;
  return sep < 0 ? { name } : { name, fallback: body.slice(sep + 2) };
}
