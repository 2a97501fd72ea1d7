import { createInterface } from 'node:readline/promises';
import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { usageError } from '../errors.js';
import { MODEL_CATALOGUE, modelEntry } from '../models/catalogue.js';
import { recommendModel, type ModelQuestions } from '../models/recommend.js';
import { renderCells } from '../output/table.js';
import { examples, print } from './shared.js';

const YES_NO = ['yes', 'no'] as const;
const MACHINES = ['platform', 'user', 'existing-cluster'] as const;

/** The table of the product's "Choosing the right model". */
export function modelsTable(): string {
  return renderCells(
    ['MODEL', 'SCENARIO', 'INFRA PROVISIONED BY', 'NODE OS MANAGED BY', 'KUBERNETES MANAGED BY', 'AUTOMATION'],
    MODEL_CATALOGUE.map((entry) => [entry.model, entry.scenario, entry.infrastructure, entry.nodeOs, entry.kubernetes, entry.automation]),
  );
}

interface RecommendFlags {
  machines?: (typeof MACHINES)[number];
  immutableOs?: (typeof YES_NO)[number];
  reachable?: (typeof YES_NO)[number];
  shareControlPlanes?: (typeof YES_NO)[number];
}

/** The answers from the flags; each missing one is asked on a terminal, or is a usage error naming its flag without one. */
async function answers(flags: RecommendFlags): Promise<ModelQuestions> {
  const terminal = process.stdin.isTTY === true;
  const prompt = terminal ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
  const ask = async <T extends string>(flag: string, question: string, choices: readonly T[], given: T | undefined): Promise<T> => {
    if (given !== undefined) return given;
    if (!prompt) throw usageError(`${flag}: required without a terminal (${choices.join('|')})`);
    for (;;) {
      const answer = (await prompt.question(`${question} [${choices.join('/')}] `)).trim().toLowerCase();
      const match = choices.find((choice) => choice === answer || choice.startsWith(answer) && answer.length > 0);
      if (match) return match;
      process.stderr.write(`  please answer one of ${choices.join(', ')}\n`);
    }
  };
  try {
    const machines = await ask('--machines', 'Who owns the machines? platform (the platform provisions them), user (you bring them), existing-cluster (a cluster runs already: EKS, AKS, GKE, CNCF)', MACHINES, flags.machines);
    const immutableOs = machines === 'existing-cluster' ? 'no' : await ask('--immutable-os', 'Do you want an immutable OS on the nodes, managed by the platform?', YES_NO, flags.immutableOs);
    const reachable = await ask('--reachable', "Can the global side reach the cluster's network (its API server, its machines)?", YES_NO, flags.reachable);
    const share = machines === 'existing-cluster' ? 'no' : await ask('--share-control-planes', 'Should control planes share a management cluster (many clusters, bare metal, scarce resources)?', YES_NO, flags.shareControlPlanes);
    return { machines, immutableOs: immutableOs === 'yes', reachable: reachable === 'yes', shareControlPlanes: share === 'yes' };
  } finally {
    prompt?.close();
  }
}

export function modelsCommand(): CommandUnknownOpts {
  const models = new Command('models').description('The cluster models and who is responsible for what in each (the product\'s "Choosing the right model")').action(() => {
    print(modelsTable());
  });
  const recommend = models
    .command('recommend')
    .description('Answer a few questions (or give them as flags) and get the model to use, with the reasons')
    .addOption(new Option('--machines <who>', 'who owns the machines').choices(MACHINES))
    .addOption(new Option('--immutable-os <yes|no>', 'an immutable OS managed by the platform is wanted').choices(YES_NO))
    .addOption(new Option('--reachable <yes|no>', "the global side can reach the cluster's network").choices(YES_NO))
    .addOption(new Option('--share-control-planes <yes|no>', 'control planes share a management cluster').choices(YES_NO))
    .action(async (options) => {
      const recommendation = recommendModel(await answers(options));
      const entry = modelEntry(recommendation.model);
      const lines = [
        `Recommended: ${recommendation.model} (${entry.scenario})${recommendation.variant ? `, ${recommendation.variant}` : ''}`,
        `  infrastructure: ${entry.infrastructure}; node OS: ${entry.nodeOs}; Kubernetes: ${entry.kubernetes}; automation: ${entry.automation}`,
        'Because:',
        ...recommendation.reasons.map((reason) => `  - ${reason}`),
        ...(recommendation.notes.length ? ['Note:', ...recommendation.notes.map((line) => `  - ${line}`)] : []),
      ];
      print(lines.join('\n'));
    });
  examples(recommend, ['flotilla models recommend', 'flotilla models recommend --machines user --immutable-os no --reachable yes --share-control-planes yes']);
  return examples(models, ['flotilla models', 'flotilla models recommend']);
}
