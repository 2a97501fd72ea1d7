import type { EKSClient } from '@aws-sdk/client-eks';
import type { AwsAccount } from '../accounts.js';
import { EksClients } from './eks-client.js';
import { eksError, eksErrorCode } from './eks-mapping.js';

/**
 * EKS clients whose throttled answers (429, ThrottlingException) end the call at once as
 * cloud-throttled with their Retry-After, instead of the SDK sleeping and retrying inside it: the
 * caller's account gate then holds back every call of the account, not only this one. The check
 * sits inside the SDK's retry loop (deserialize step), so other transient failures are still retried.
 */
export class ThrottleSurfacingEksClients extends EksClients {
  override client(account: AwsAccount, region: string): EKSClient {
    const client = super.client(account, region);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          // A CloudError has no $metadata: the SDK's retry strategy takes it as a client error and does not retry.
          if (eksErrorCode(error) === 'cloud-throttled') throw eksError(error, context.commandName ?? 'call');
          throw error;
        }
      },
      { step: 'deserialize', name: 'flotillaSurfaceThrottling', priority: 'high' },
    );
    return client;
  }
}
