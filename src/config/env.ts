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

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function substituteEnv(text: string, env: Env): { ok: true; value: string } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  // $$, ${…} up to the first }, or a ${ with no } after it (one error, the rest of the text unread).
  const value = text.replace(/\$\$|\$\{([^}]*)\}|\$\{[^}]*$/g, (match, inner: string | undefined) => {
    if (match === '$$') return '$';
    const ref = inner === undefined ? `unterminated "\${" in "${text}"` : parseReference(inner);
    if (typeof ref === 'string') {
      errors.push(ref);
      return '';
    }
    const found = env[ref.name] ?? ref.fallback;
    if (found === undefined) errors.push(`environment variable "${ref.name}" is not set (write \${env:${ref.name}:-default} to give a default)`);
    return found ?? '';
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
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
