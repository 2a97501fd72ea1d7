// Plain SVG charts. Each has a text alternative: the figures are in a table beside it too.
import type { Count } from '../lib/overview.js';
import type { Compliance, Standing } from '../lib/compliance.js';

const BAR_HEIGHT = 22;
const GAP = 6;
const LABEL_WIDTH = 140;
const WIDTH = 320;

/** Horizontal bars, one per count. */
export function BarChart({ title, counts }: { title: string; counts: Count[] }) {
  if (counts.length === 0) return <p>No clusters.</p>;
  const max = Math.max(1, ...counts.map((entry) => entry.count));
  const height = Math.max(1, counts.length) * (BAR_HEIGHT + GAP);
  const barSpace = WIDTH - LABEL_WIDTH - 40;
  return (
    <svg className="chart" viewBox={`0 0 ${WIDTH} ${height}`} width={WIDTH} height={height} role="img" aria-label={`${title}: ${counts.map((entry) => `${entry.key} ${entry.count}`).join(', ') || 'none'}`}>
      {counts.map((entry, index) => {
        const y = index * (BAR_HEIGHT + GAP);
        const width = Math.max(2, (entry.count / max) * barSpace);
        return (
          <g key={entry.key}>
            <text x={LABEL_WIDTH - 8} y={y + BAR_HEIGHT / 2} textAnchor="end" dominantBaseline="middle" className="chart-label">
              {entry.key}
            </text>
            <rect x={LABEL_WIDTH} y={y} width={width} height={BAR_HEIGHT} className="bar" />
            <text x={LABEL_WIDTH + width + 6} y={y + BAR_HEIGHT / 2} dominantBaseline="middle" className="chart-label">
              {entry.count}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export const STANDING_LABEL: Record<Standing, string> = {
  compatible: 'compatible',
  behind: 'behind: must upgrade first',
  ahead: 'ahead of the release',
  unknown: 'version unknown',
};

/** One bar per Kubernetes minor the fleet runs, coloured (and labelled) by its standing against the target release. */
export function ComplianceChart({ compliance }: { compliance: Compliance }) {
  if (compliance.minors.length === 0) return <p>No cluster to judge yet: the upgrade planner knows of none.</p>;
  const max = Math.max(1, ...compliance.minors.map((entry) => entry.count));
  const columnWidth = 56;
  const chartHeight = 160;
  const width = Math.max(280, compliance.minors.length * columnWidth + 20);
  const label = `Clusters per Kubernetes minor against release ${compliance.target}: ${compliance.minors.map((entry) => `${entry.minor} ${entry.count} ${STANDING_LABEL[entry.standing]}`).join(', ') || 'no clusters'}`;
  return (
    <figure className="compliance">
      <svg className="chart" viewBox={`0 0 ${width} ${chartHeight + 50}`} width={width} height={chartHeight + 50} role="img" aria-label={label}>
        {compliance.minors.map((entry, index) => {
          const barHeight = Math.max(2, (entry.count / max) * chartHeight);
          const x = 10 + index * columnWidth;
          return (
            <g key={entry.minor}>
              <rect x={x} y={chartHeight - barHeight + 20} width={columnWidth - 14} height={barHeight} className={`bar standing-${entry.standing}`} />
              <text x={x + (columnWidth - 14) / 2} y={chartHeight - barHeight + 14} textAnchor="middle" className="chart-label">
                {entry.count}
              </text>
              <text x={x + (columnWidth - 14) / 2} y={chartHeight + 38} textAnchor="middle" className="chart-label">
                {entry.minor}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="legend">
          {(['compatible', 'behind', 'ahead', 'unknown'] as const).map((standing) => (
            <li key={standing}>
              <span className={`swatch standing-${standing}`} aria-hidden="true" /> {STANDING_LABEL[standing]}: {compliance.totals[standing]}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
