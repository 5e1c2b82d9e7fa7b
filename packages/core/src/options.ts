import { z, type ZodType } from 'zod';

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/**
 * Building blocks for plugin option schemas. An option may come from code (a number, a boolean, an
 * array) or from an environment variable (always a string): these accept both.
 */
export const option = {
  /** An integer within bounds, with a default. */
  int: (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback),
  /** A boolean; from the environment `true/false`, `1/0`, `yes/no`, `on/off`. */
  bool: (fallback: boolean) =>
    z.preprocess((v) => {
      if (typeof v !== 'string') return v;
      const t = v.trim().toLowerCase();
      if (TRUE.includes(t)) return true;
      if (FALSE.includes(t)) return false;
      return v;
    }, z.boolean().default(fallback)),
  /** A list; from the environment, comma-separated. */
  list: <T extends ZodType>(item: T) =>
    z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item).default([])),
};
