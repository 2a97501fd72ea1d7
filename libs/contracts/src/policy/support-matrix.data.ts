import { parseSupportMatrix, type SupportMatrix, type SupportMatrixDocument } from './matrix.js';

/** Facts of the releases before 4.3 that the documentation does not state, with the reasoning. */
const INFERRED_BEFORE_4_3_THIRD_PARTY_AND_EXTEND = {
  'thirdParty.range': "The documentation states a third-party range only for 4.3 (>=1.19.0 <1.35.0); this one keeps its lower bound and ends below the first minor newer than the release's newest compatible one.",
  'thirdParty.validated': 'The documentation publishes no validated third-party list for this release; an empty list makes onboarding inside the range an allowed-with-warning decision.',
  extendBaseline: 'The documentation states an Extend baseline only from 4.3 on; none is assumed before.',
} as const;

const INFERRED_BEFORE_4_3 = {
  ...INFERRED_BEFORE_4_3_THIRD_PARTY_AND_EXTEND,
  upgradeFrom: 'The documentation names upgrade paths only into 4.3; the upgrade examples show only the adjacent release, so only that one is listed.',
} as const;

const DOCUMENTED_ROW_NOTE = 'Creation and compatible minors and the upgrade gate ("4.2 and earlier") are from the documentation; the rest is inferred (see `inferred`).';

/**
 * The platform's support matrix, as shipped. `libs/contracts/policy/support-matrix.json` is the
 * same document for readers in other languages; a spec fails when the two drift apart.
 *
 * Bump `revision` whenever any fact changes: every decision and plan records it.
 */
export const SUPPORT_MATRIX_DOCUMENT: SupportMatrixDocument = {
  apiVersion: 'flotilla.io/v1',
  kind: 'SupportMatrix',
  revision: '2025-11-23.1',
  releases: [
    {
      release: '4.3',
      provenance: 'documented',
      creation: ['1.34'],
      compatible: ['1.34', '1.33', '1.32', '1.31'],
      thirdParty: { range: '>=1.19.0 <1.35.0', validated: [] },
      extendBaseline: ['operators', 'cluster-plugins', 'clickhouse-logging', 'victoriametrics-monitoring'],
      upgradeGate: 'within-compatible-range',
      upgradeFrom: ['4.2', '4.1', '4.0'],
      notes: [
        'No validated third-party list is published for 4.3 (documented): onboarding inside the range is allowed with a warning.',
        'Extend baseline validation does not cover every specific Operator or Cluster Plugin.',
      ],
    },
    {
      release: '4.2',
      provenance: 'documented',
      creation: ['1.33'],
      compatible: ['1.33', '1.32', '1.31', '1.30'],
      thirdParty: { range: '>=1.19.0 <1.34.0', validated: [] },
      extendBaseline: [],
      upgradeGate: 'latest-compatible-first',
      upgradeFrom: ['4.1'],
      inferred: { ...INFERRED_BEFORE_4_3 },
      notes: [DOCUMENTED_ROW_NOTE],
    },
    {
      release: '4.1',
      provenance: 'documented',
      creation: ['1.32'],
      compatible: ['1.32', '1.31', '1.30', '1.29'],
      thirdParty: { range: '>=1.19.0 <1.33.0', validated: [] },
      extendBaseline: [],
      upgradeGate: 'latest-compatible-first',
      upgradeFrom: ['4.0'],
      inferred: { ...INFERRED_BEFORE_4_3 },
      notes: [DOCUMENTED_ROW_NOTE],
    },
    {
      release: '4.0',
      provenance: 'documented',
      creation: ['1.31', '1.30', '1.29', '1.28'],
      compatible: ['1.31', '1.30', '1.29', '1.28'],
      thirdParty: { range: '>=1.19.0 <1.32.0', validated: [] },
      extendBaseline: [],
      upgradeGate: 'latest-compatible-first',
      upgradeFrom: ['3.18'],
      inferred: { ...INFERRED_BEFORE_4_3 },
      notes: [DOCUMENTED_ROW_NOTE],
    },
    {
      release: '3.18',
      provenance: 'reconstructed',
      creation: ['1.30'],
      compatible: ['1.30', '1.29', '1.28', '1.27'],
      thirdParty: { range: '>=1.19.0 <1.31.0', validated: [] },
      extendBaseline: [],
      upgradeGate: 'latest-compatible-first',
      upgradeFrom: ['3.16'],
      inferred: {
        creation: 'Only the newest compatible minor (1.30) is evidenced, by the upgrade examples; creation on it alone follows the one-creation-minor pattern of 4.1 and later.',
        compatible: 'Only 1.30 is evidenced ("all clusters had to be on 1.30"); the older minors follow the four-minor window of the documented releases.',
        ...INFERRED_BEFORE_4_3_THIRD_PARTY_AND_EXTEND,
        upgradeFrom: 'The upgrade examples go from 3.16 to 3.18 ("from 3.16 all clusters had to be on 1.28"); no other path into 3.18 is known.',
      },
      notes: [
        'Historical, reconstructed from the upgrade pages: "from 3.18 all clusters had to be on 1.30". Only the newest compatible minor (1.30) is evidenced; the older minors follow the four-minor window of later releases.',
      ],
    },
    {
      release: '3.16',
      provenance: 'reconstructed',
      creation: ['1.28'],
      compatible: ['1.28', '1.27', '1.26', '1.25'],
      thirdParty: { range: '>=1.19.0 <1.29.0', validated: [] },
      extendBaseline: [],
      upgradeGate: 'latest-compatible-first',
      upgradeFrom: [],
      inferred: {
        creation: 'Only the newest compatible minor (1.28) is evidenced, by the upgrade examples; creation on it alone follows the one-creation-minor pattern of 4.1 and later.',
        compatible: 'Only 1.28 is evidenced ("all clusters had to be on 1.28"); the older minors follow the four-minor window of the documented releases.',
        ...INFERRED_BEFORE_4_3_THIRD_PARTY_AND_EXTEND,
        upgradeFrom: 'Upgrades into 3.16 are not modelled: the examples start there.',
      },
      notes: [
        'Historical, reconstructed from the upgrade pages: "from 3.16 all clusters had to be on 1.28". Only the newest compatible minor (1.28) is evidenced; upgrades into 3.16 are not modelled.',
      ],
    },
  ],
};

/** The shipped document, validated and compiled once. */
export const defaultSupportMatrix: SupportMatrix = compileShipped();

function compileShipped(): SupportMatrix {
  const result = parseSupportMatrix(SUPPORT_MATRIX_DOCUMENT);
  // Only a broken edit of this file gets here, and its spec catches that before release.
  if (!result.ok) throw new Error(result.reason);
  return result.matrix;
}
