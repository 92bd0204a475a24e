const U64 = 1n << 64n;

/**
 * strtoul(s, &end, 0) as hmmtrace.c uses it: optional sign, `0x` hex, leading-0 octal or
 * decimal, the whole token consumed, no overflow past 64 bits; a minus sign wraps modulo 2^64.
 * Returns null where the C code would reject the token.
 */
export function parseCNumber(s: string): bigint | null {
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  let base = 10;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') base = 8;
  const digits = s.slice(i);
  const re = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (digits.length === 0) {
    // strtoul consumed nothing: valid only for the empty string (end points at the NUL).
    return s.length === 0 ? 0n : null;
  }
  if (!re.test(digits)) return null;
  let v = 0n;
  const b = BigInt(base);
  for (const c of digits) v = v * b + BigInt(parseInt(c, base));
  if (v >= U64) return null;
  return neg ? (U64 - v) % U64 : v;
}
