import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import type { HostView } from './hosts.controller.js';
import type { SshKeyView } from './ssh-keys.js';

const Time = z.iso.datetime({ offset: true });

const HostAnswer = describes<HostView>()(
  z.object({
    machine: z.string(),
    role: z.enum(['control-plane', 'worker']).nullable(),
    address: z.string().nullable(),
    facts: z
      .object({
        hostname: z.string(),
        cpus: z.number().int().nullable(),
        memoryMb: z.number().int().nullable(),
        swapMb: z.number().int().nullable(),
        ipForward: z.string().nullable(),
        osId: z.string().nullable(),
        osVersion: z.string().nullable(),
        runtimeSockets: z.array(z.string()),
        listeningPorts: z.array(z.number().int()),
      })
      .nullable()
      .describe('What was gathered from the host'),
    gatheredAt: Time.nullable(),
    checks: z.array(z.object({ check: z.enum(['cpu', 'memory', 'ports', 'ip-forward', 'container-runtime', 'swap', 'hostname-unique', 'os-supported']), status: z.enum(['pass', 'warn', 'fail']), message: z.string(), observed: z.string(), checkedAt: Time })),
    steps: z.array(
      z.object({
        step: z.string(),
        command: z.string(),
        exitCode: z.number().int().nullable().describe('Null while the step runs (or when it was interrupted)'),
        output: z.string().describe('Trimmed, with secrets masked'),
        startedAt: Time,
        finishedAt: Time.nullable(),
      }),
    ),
    changes: z
      .array(
        z.object({
          kind: z.enum(['package', 'file', 'kubeadm']).describe('package: installed by Flotilla (absent before); file: written by Flotilla (the host\'s own copy saved); kubeadm: init or join run'),
          target: z.string().describe('The package name, file path, or init / join'),
          step: z.string().describe('The step that made the change'),
        }),
      )
      .describe('What Flotilla changed on the host, in order: what removing the host undoes, and nothing else'),
  }),
);

/** GET /api/v1/provisioner/clusters/{id}/hosts. */
export const ClusterHostsAnswer = z.object({ clusterId: z.string(), hosts: z.array(HostAnswer) });

/** A registered SSH key: never the key itself. */
export const SshKeyAnswer = describes<SshKeyView>()(
  z.object({ ref: z.string(), name: z.string(), type: z.string(), fingerprint: z.string().describe('SHA256 fingerprint of the public key'), createdAt: Time }),
);
