import { Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { connect, examples, print } from './shared.js';

export function kubeconfigCommand(): CommandUnknownOpts {
  const command = new Command('kubeconfig')
    .description("Print a cluster's kubeconfig (YAML), e.g. to save it or pipe it to kubectl")
    .argument('<cluster>', 'cluster id')
    .option('--ttl <duration>', 'how long the credential in it lasts, if the API lets you choose (e.g. 8h)')
    .action(async (cluster, options, self) => {
      const response = await connect(self).send({
        path: `/api/v1/clusters/${encodeURIComponent(cluster)}/kubeconfig`,
        query: { ttl: options.ttl },
        accept: 'application/yaml, text/yaml, text/plain, */*',
      });
      print(response.text);
    });
  return examples(command, ['flotilla kubeconfig prod-eu-1 > prod-eu-1.kubeconfig', 'KUBECONFIG=<(flotilla kubeconfig prod-eu-1) kubectl get nodes']);
}
