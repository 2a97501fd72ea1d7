import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  const cases: [string, number][] = [
    ['4', 4],
    ['3500m', 3.5],
    ['250m', 0.25],
    ['0.5', 0.5],
    ['16374584Ki', 16374584 * 1024],
    ['15Gi', 15 * 2 ** 30],
    ['7901Mi', 7901 * 2 ** 20],
    ['1e3', 1000],
    ['1E3', 1000],
    ['2k', 2000],
    ['110', 110],
    ['128G', 128e9],
    ['1Ti', 2 ** 40],
    ['500u', 0.0005],
  ];
  for (const [text, expected] of cases) {
    it(`${text} is ${expected}`, () => {
      const value = parseQuantity(text);
      assert.ok(value !== undefined);
      assert.ok(Math.abs(value - expected) < 1e-9 * Math.max(1, expected), `${text}: ${value} != ${expected}`);
    });
  }

  for (const text of ['', 'Gi', '4 cores', '1.2.3', '12Xi', 'NaN', '0x10']) {
    it(`"${text}" is not a quantity`, () => assert.equal(parseQuantity(text), undefined));
  }
});
