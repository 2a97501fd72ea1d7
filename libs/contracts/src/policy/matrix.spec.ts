import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { factProvenance, MATRIX_FACTS, parseSupportMatrix, releaseProvenance, serializeSupportMatrix, type MatrixIssueCode, type SupportMatrixDocument } from './matrix.js';
import { SUPPORT_MATRIX_DOCUMENT, defaultSupportMatrix } from './support-matrix.data.js';

// From dist/src/policy/ back to libs/contracts/policy/.
const JSON_FILE = new URL('../../../policy/support-matrix.json', import.meta.url);

function clone(): SupportMatrixDocument {
  return structuredClone(SUPPORT_MATRIX_DOCUMENT);
}

function issuesOf(json: unknown): { code: MatrixIssueCode; path: string; message: string }[] {
  const result = parseSupportMatrix(json);
  assert.equal(result.ok, false, 'expected the document to be rejected');
  if (result.ok) return [];
  assert.equal(result.code, 'matrix-invalid');
  for (const issue of result.issues) assert.ok(result.reason.includes(`${issue.path}: ${issue.message}`), 'the reason names every issue');
  return result.issues.map((i) => ({ code: i.code, path: i.path, message: i.message }));
}

describe('shipped support matrix', () => {
  it('is valid and compiles', () => {
    const result = parseSupportMatrix(SUPPORT_MATRIX_DOCUMENT);
    assert.ok(result.ok, result.ok ? '' : result.reason);
    assert.equal(defaultSupportMatrix.revision, SUPPORT_MATRIX_DOCUMENT.revision);
    assert.deepEqual([...defaultSupportMatrix.releases.keys()], ['4.3', '4.2', '4.1', '4.0', '3.18', '3.16']);
  });

  it('matches libs/contracts/policy/support-matrix.json byte for byte', () => {
    const onDisk = readFileSync(JSON_FILE, 'utf8');
    assert.equal(
      onDisk,
      serializeSupportMatrix(SUPPORT_MATRIX_DOCUMENT),
      'support-matrix.json drifted from support-matrix.data.ts; regenerate it: npx tsc -b libs/contracts && node -e "import(\'./libs/contracts/dist/src/policy/index.js\').then(m => process.stdout.write(m.serializeSupportMatrix(m.SUPPORT_MATRIX_DOCUMENT)))" > libs/contracts/policy/support-matrix.json',
    );
    assert.ok(parseSupportMatrix(JSON.parse(onDisk)).ok);
  });

  it('encodes the seed support matrix', () => {
    const table: [string, string[], string[]][] = [
      ['4.3', ['1.34'], ['1.34', '1.33', '1.32', '1.31']],
      ['4.2', ['1.33'], ['1.33', '1.32', '1.31', '1.30']],
      ['4.1', ['1.32'], ['1.32', '1.31', '1.30', '1.29']],
      ['4.0', ['1.31', '1.30', '1.29', '1.28'], ['1.31', '1.30', '1.29', '1.28']],
    ];
    for (const [release, creation, compatible] of table) {
      const entry = defaultSupportMatrix.releases.get(release)!.entry;
      assert.equal(entry.provenance, 'documented');
      assert.deepEqual(entry.creation, creation, release);
      assert.deepEqual(entry.compatible, compatible, release);
    }
    const v43 = defaultSupportMatrix.releases.get('4.3')!.entry;
    assert.equal(v43.thirdParty.range, '>=1.19.0 <1.35.0');
    assert.deepEqual(v43.thirdParty.validated, []);
    assert.equal(v43.upgradeGate, 'within-compatible-range');
    assert.deepEqual([...v43.upgradeFrom].sort(), ['4.0', '4.1', '4.2']);
    assert.deepEqual(v43.extendBaseline, ['operators', 'cluster-plugins', 'clickhouse-logging', 'victoriametrics-monitoring']);
    for (const release of ['4.2', '4.1', '4.0', '3.18', '3.16']) {
      assert.equal(defaultSupportMatrix.releases.get(release)!.entry.upgradeGate, 'latest-compatible-first', release);
    }
    for (const release of ['3.18', '3.16']) assert.equal(defaultSupportMatrix.releases.get(release)!.entry.provenance, 'reconstructed');
  });
});

describe('parseSupportMatrix rejects', () => {
  it('anything that is not a document', () => {
    for (const json of [null, 42, 'matrix', [], {}]) {
      const issues = issuesOf(json);
      assert.ok(issues.length > 0);
      assert.ok(issues.every((i) => i.code === 'schema-invalid'));
    }
  });

  it('every bad field at once, with its path', () => {
    const doc = clone() as unknown as Record<string, unknown> & { releases: Record<string, unknown>[] };
    doc['apiVersion'] = 'flotilla.io/v2';
    doc['revision'] = '';
    doc.releases[0]!['creation'] = ['1.34.0'];
    doc.releases[1]!['upgradeGate'] = 'whenever';
    doc.releases[2]!['compatable'] = ['1.32'];
    delete doc.releases[3]!['thirdParty'];
    const paths = issuesOf(doc).map((i) => i.path);
    for (const path of ['apiVersion', 'revision', 'releases.0.creation.0', 'releases.1.upgradeGate', 'releases.2', 'releases.3.thirdParty']) {
      assert.ok(paths.includes(path), `expected an issue at ${path}, got ${paths.join(', ')}`);
    }
  });

  const semantic: { name: string; edit: (doc: SupportMatrixDocument) => void; code: MatrixIssueCode; path: string }[] = [
    {
      name: 'a duplicate release',
      edit: (doc) => {
        doc.releases[1]!.release = '4.3';
      },
      code: 'duplicate-release',
      path: 'releases.1.release',
    },
    {
      name: 'releases out of order',
      edit: (doc) => {
        [doc.releases[0], doc.releases[1]] = [doc.releases[1]!, doc.releases[0]!];
      },
      code: 'releases-unsorted',
      path: 'releases.1.release',
    },
    {
      name: 'a creation minor missing from the compatible minors',
      edit: (doc) => {
        doc.releases[0]!.creation = ['1.35'];
      },
      code: 'creation-not-compatible',
      path: 'releases.0.creation.0',
    },
    {
      name: 'unsorted compatible minors',
      edit: (doc) => {
        doc.releases[0]!.compatible = ['1.33', '1.34', '1.32', '1.31'];
      },
      code: 'minors-unsorted',
      path: 'releases.0.compatible.1',
    },
    {
      name: 'a gap in the compatible minors',
      edit: (doc) => {
        doc.releases[0]!.compatible = ['1.34', '1.32', '1.31'];
      },
      code: 'minors-gapped',
      path: 'releases.0.compatible.1',
    },
    {
      name: 'a minor listed twice',
      edit: (doc) => {
        doc.releases[0]!.compatible = ['1.34', '1.34', '1.33'];
      },
      code: 'duplicate-minor',
      path: 'releases.0.compatible.1',
    },
    {
      name: 'a malformed range',
      edit: (doc) => {
        doc.releases[0]!.thirdParty.range = '1.19 - 1.35';
      },
      code: 'range-malformed',
      path: 'releases.0.thirdParty.range',
    },
    {
      name: 'a range with leading zeros',
      edit: (doc) => {
        doc.releases[0]!.thirdParty.range = '>=1.019.0 <1.35.0';
      },
      code: 'range-malformed',
      path: 'releases.0.thirdParty.range',
    },
    {
      name: 'an empty range',
      edit: (doc) => {
        doc.releases[0]!.thirdParty.range = '>=1.35.0 <1.19.0';
      },
      code: 'range-empty',
      path: 'releases.0.thirdParty.range',
    },
    {
      name: 'a validated minor outside the range',
      edit: (doc) => {
        doc.releases[0]!.thirdParty.validated = ['1.34', '1.35'];
      },
      code: 'validated-outside-range',
      path: 'releases.0.thirdParty.validated.1',
    },
    {
      name: 'an upgrade from a release the matrix does not define',
      edit: (doc) => {
        doc.releases[0]!.upgradeFrom = ['3.10'];
      },
      code: 'upgrade-from-unknown',
      path: 'releases.0.upgradeFrom.0',
    },
    {
      name: 'an upgrade from a newer release',
      edit: (doc) => {
        doc.releases[1]!.upgradeFrom = ['4.3'];
      },
      code: 'upgrade-from-not-older',
      path: 'releases.1.upgradeFrom.0',
    },
    {
      name: 'an upgrade path no cluster could satisfy',
      edit: (doc) => {
        doc.releases[0]!.upgradeFrom = ['3.16'];
      },
      code: 'upgrade-path-without-common-minor',
      path: 'releases.0.upgradeFrom.0',
    },
    {
      name: 'an upgradeFrom entry listed twice',
      edit: (doc) => {
        doc.releases[0]!.upgradeFrom = ['4.2', '4.2'];
      },
      code: 'duplicate-release',
      path: 'releases.0.upgradeFrom.1',
    },
  ];
  for (const { name, edit, code, path } of semantic) {
    it(name, () => {
      const doc = clone();
      edit(doc);
      const issues = issuesOf(doc);
      assert.ok(
        issues.some((i) => i.code === code && i.path === path),
        `expected ${code} at ${path}, got ${JSON.stringify(issues)}`,
      );
    });
  }

  it('semantic problems and bad fields together', () => {
    const doc = clone() as unknown as { releases: Record<string, unknown>[] };
    doc.releases[0]!['upgradeGate'] = 'eventually';
    doc.releases[1]!['compatible'] = ['1.33', '1.31', '1.30'];
    const codes = issuesOf(doc).map((i) => `${i.code}@${i.path}`);
    assert.ok(codes.includes('schema-invalid@releases.0.upgradeGate'), codes.join());
    assert.ok(codes.includes('minors-gapped@releases.1.compatible.1'), codes.join());
  });
});

describe('provenance of every fact', () => {
  const provenanceOf = (release: string) => Object.fromEntries(releaseProvenance(defaultSupportMatrix.releases.get(release)!.entry).map((p) => [p.fact, p.provenance]));

  it('4.3: every fact is documented', () => {
    assert.deepEqual(new Set(Object.values(provenanceOf('4.3'))), new Set(['documented']));
  });

  it('4.2, 4.1, 4.0: the rows and the gate are documented; ranges, validated lists, Extend baselines and upgradeFrom are inferred', () => {
    for (const release of ['4.2', '4.1', '4.0']) {
      assert.deepEqual(
        provenanceOf(release),
        {
          creation: 'documented',
          compatible: 'documented',
          'thirdParty.range': 'inferred',
          'thirdParty.validated': 'inferred',
          extendBaseline: 'inferred',
          upgradeGate: 'documented',
          upgradeFrom: 'inferred',
        },
        release,
      );
    }
  });

  it('3.18 and 3.16 are reconstructed: their creation and compatible minors are inferred, with the evidence named', () => {
    for (const [release, newest] of [
      ['3.18', '1.30'],
      ['3.16', '1.28'],
    ] as const) {
      const entry = defaultSupportMatrix.releases.get(release)!.entry;
      for (const fact of ['creation', 'compatible'] as const) {
        const provenance = factProvenance(entry, fact);
        assert.equal(provenance.provenance, 'inferred', `${release} ${fact}`);
        assert.ok(provenance.provenance === 'inferred' && provenance.reasoning.includes(newest), `${release} ${fact} names the evidenced minor`);
      }
    }
  });

  it('every inferred fact carries its reasoning, and no note still hides an assumption', () => {
    for (const entry of SUPPORT_MATRIX_DOCUMENT.releases) {
      for (const provenance of releaseProvenance(entry)) {
        if (provenance.provenance === 'inferred') assert.ok(provenance.reasoning.length > 20, `${entry.release} ${provenance.fact}`);
      }
      for (const note of entry.notes ?? []) assert.doesNotMatch(note, /^Assumed/, `${entry.release}: "${note}" belongs under inferred`);
    }
    assert.equal(MATRIX_FACTS.length, 7);
  });

  it('refuses a reconstructed release that does not say what was inferred, and an unknown fact', () => {
    const doc = clone();
    delete doc.releases[4]!.inferred;
    assert.deepEqual(
      issuesOf(doc).map((i) => [i.code, i.path]),
      [['reconstructed-without-inferred', 'releases.4.inferred']],
    );
    const unknown = clone() as unknown as { releases: Record<string, unknown>[] };
    unknown.releases[0]!['inferred'] = { kubeletSkew: 'guessed' };
    assert.ok(issuesOf(unknown).some((i) => i.code === 'schema-invalid' && i.path.startsWith('releases.0.inferred')));
  });
});
