import { age, renderCells } from './table.js';

/** One line of a tree in the style of `clusterctl describe cluster`, with its status columns. */
export interface TreeNode {
  name: string;
  /** True, False or Unknown; empty for a line that only groups or informs. */
  ready?: 'True' | 'False' | 'Unknown' | '';
  /** Error, Warning or Info when not ready (Cluster API's severities). */
  severity?: 'Error' | 'Warning' | 'Info' | '';
  reason?: string;
  /** When the status last changed (RFC 3339); shown as an age. */
  since?: string;
  message?: string;
  children?: TreeNode[];
}

export const TREE_HEADERS = ['NAME', 'READY', 'SEVERITY', 'REASON', 'SINCE', 'MESSAGE'] as const;

/**
 * The tree with box-drawing prefixes in the NAME column and the columns aligned as a table:
 *
 *   NAME                READY  SEVERITY  REASON  SINCE  MESSAGE
 *   Cluster/prod        True                     5m
 *   ├─ControlPlane      True                     5m
 *   │ └─Machine/prod-0  True                     6m
 *   └─Workers
 */
export function renderTree(roots: readonly TreeNode[], now: Date = new Date()): string {
  const rows: string[][] = [];
  const walk = (node: TreeNode, prefix: string, childPrefix: string) => {
    rows.push([
      `${prefix}${node.name}`,
      node.ready ?? '',
      node.severity ?? '',
      node.reason ?? '',
      node.since ? age(node.since, now) : '',
      oneLine(node.message ?? ''),
    ]);
    const children = node.children ?? [];
    children.forEach((child, index) => {
      const last = index === children.length - 1;
      walk(child, `${childPrefix}${last ? '└─' : '├─'}`, `${childPrefix}${last ? '  ' : '│ '}`);
    });
  };
  for (const root of roots) walk(root, '', '');
  return renderCells(TREE_HEADERS, rows);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 100 ? `${flat.slice(0, 97)}...` : flat;
}
