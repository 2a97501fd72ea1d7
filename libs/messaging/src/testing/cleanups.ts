/**
 * What a benchmark set up (schemas, streams, processes), undone last first: when it ends, and on
 * SIGINT or SIGTERM (then the process exits 130). A step that fails is reported and the rest run.
 */
export class Cleanups {
  private readonly steps: (() => unknown)[] = [];

  constructor(private readonly log: (message: string) => void = (message) => console.error(message)) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        this.log(`${signal}: cleaning up`);
        void this.run().finally(() => process.exit(130));
      });
    }
  }

  push(step: () => unknown): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        this.log(`cleanup step failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
