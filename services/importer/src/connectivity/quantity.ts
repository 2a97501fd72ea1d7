/**
 * Kubernetes resource quantities (`4`, `3500m`, `16374584Ki`, `15Gi`, `1e3`, `0.5`), as the API
 * server writes them in node capacity: a decimal number with a binary-SI, decimal-SI or exponent
 * suffix. See k8s.io/apimachinery/pkg/api/resource.
 */
const SUFFIXES: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** The value of a quantity as a number, or undefined when the text is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, number, exponent, suffix] = match;
  const value = Number(number);
  if (exponent !== undefined) return value * 10 ** Number(exponent.slice(1));
  return value * (SUFFIXES[suffix ?? ''] ?? 1);
}
