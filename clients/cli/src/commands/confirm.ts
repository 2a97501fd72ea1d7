import { createInterface } from 'node:readline/promises';
import { usageError } from '../errors.js';

/** Asks on the terminal; without one, refuses unless `--yes` was given (a script must say so). */
export async function confirm(question: string, yes: boolean | undefined): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw usageError(`${question} needs confirmation and there is no terminal to ask: pass --yes`);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
