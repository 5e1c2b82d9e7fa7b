import { z } from 'zod';
import type { FieldError } from './errors.ts';

/**
 * Control characters refused in any text a request carries (path, query, headers, JSON body):
 * C0 controls and DEL. A JSON body may keep tab, line feed and carriage return (multi-line notes).
 * NUL in particular reaches PostgreSQL, which refuses it in text columns (a 500 before this).
 */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const CONTROL_STRICT = /[\u0000-\u001F\u007F]/;

const describe = (s: string, strict: boolean): string => {
  const m = (strict ? CONTROL_STRICT : CONTROL).exec(s)!;
  return `control character U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not allowed`;
};

/**
 * The fields of a request value (parsed query, path params, JSON body) whose text holds a control
 * character, keys included, at most `limit` of them. The route helper runs it on every input, so
 * no route has to remember it.
 */
export function controlCharacterErrors(where: FieldError['in'], value: unknown, limit = 10): FieldError[] {
  const strict = where !== 'body';
  const re = strict ? CONTROL_STRICT : CONTROL;
  const errors: FieldError[] = [];
  const walk = (v: unknown, path: string[], depth: number): void => {
    if (errors.length >= limit || depth > 64) return;
    if (typeof v === 'string') {
      if (re.test(v)) errors.push({ in: where, field: path.length ? path.join('.') : '(root)', message: describe(v, strict) });
      return;
    }
    if (Array.isArray(v)) {
      // a repeated query parameter names the parameter, not its index
      v.forEach((x, i) => walk(x, where === 'query' && depth === 1 ? path : [...path, String(i)], depth + 1));
      return;
    }
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (re.test(k)) {
          errors.push({ in: where, field: [...path, k.replace(CONTROL_STRICT, '?')].join('.'), message: `the name of this field has a ${describe(k, strict)}` });
          continue;
        }
        walk(x, [...path, k], depth + 1);
      }
    }
  };
  walk(value, [], 0);
  return errors;
}

/** `42`, never `0x2a`, ` 42`, `4.2e1`, `042` or `+42`. */
export const CANONICAL_INTEGER = /^(0|[1-9][0-9]{0,15})$/;

/**
 * An integer from a path or query string, in canonical decimal form only (a number passed by
 * code is accepted as is). `z.coerce.number()` took `0x10` for 16 and `%20%201` for 1.
 */
export function canonicalInt(min: number, max: number) {
  return z
    .union([z.number(), z.string().regex(CANONICAL_INTEGER, 'expected a decimal integer such as 42 (digits only, no sign, no leading zero)')])
    .transform((v) => Number(v))
    .pipe(z.number().int().min(min).max(max));
}
