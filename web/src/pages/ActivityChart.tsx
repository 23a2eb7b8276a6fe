/** Files and rows per day, as two small bar charts in SVG (no charting library needed for this). */

import type { DayActivity } from "../api";

/** "1 row ok", "2 rows ok", "0 partial". */
const counted = (n: number, label: string | [string, string]) =>
  `${n.toLocaleString("en-US")} ${typeof label === "string" ? label : label[n === 1 ? 0 : 1]}`;

function Bars(props: {
  title: string;
  days: DayActivity[];
  /** `label`: one word for any count, or [one, many]. */
  series: {
    key: "files" | "partial" | "failed" | "rowsOk" | "rowsError";
    label: string | [string, string];
    className: string;
  }[];
}) {
  const W = 600;
  const H = 120;
  const max = Math.max(1, ...props.days.map((d) => props.series.reduce((sum, s) => sum + d[s.key], 0)));
  const bw = W / props.days.length;
  const total = props.series
    .map((s) =>
      counted(
        props.days.reduce((sum, d) => sum + d[s.key], 0),
        s.label,
      ),
    )
    .join(", ");
  return (
    <figure className="chart">
      <figcaption>
        {props.title}: <span className="muted">{total}</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H + 16}`}
        role="img"
        aria-label={`${props.title} per day over 30 days: ${total}`}
      >
        {props.days.map((d, i) => {
          let y = H;
          return (
            <g key={d.day}>
              <title>
                {d.day}: {props.series.map((s) => counted(d[s.key], s.label)).join(", ")}
              </title>
              <rect x={i * bw} y={0} width={bw} height={H} className="hover" />
              {props.series.map((s) => {
                const h = (d[s.key] / max) * (H - 4);
                y -= h;
                return h > 0 ? (
                  <rect
                    key={s.key}
                    x={i * bw + 1}
                    y={y}
                    width={Math.max(1, bw - 2)}
                    height={h}
                    className={s.className}
                  />
                ) : null;
              })}
            </g>
          );
        })}
        <line x1={0} y1={H} x2={W} y2={H} className="axis" />
        <text x={0} y={H + 13} className="tick">
          {props.days[0]?.day}
        </text>
        <text x={W} y={H + 13} textAnchor="end" className="tick">
          {props.days[props.days.length - 1]?.day}
        </text>
      </svg>
    </figure>
  );
}

export function ActivityChart(props: { days: DayActivity[] }) {
  // Stacked: the files that went well, those with refused rows, those that failed.
  const files = props.days.map((d) => ({ ...d, files: d.files - d.partial - d.failed }));
  return (
    <div className="charts" data-testid="activity-chart">
      <Bars
        title="Files"
        days={files}
        series={[
          { key: "files", label: "ok", className: "ok" },
          { key: "partial", label: "partial", className: "warn" },
          { key: "failed", label: "failed", className: "bad" },
        ]}
      />
      <Bars
        title="Rows"
        days={props.days}
        series={[
          { key: "rowsOk", label: ["row ok", "rows ok"], className: "ok" },
          { key: "rowsError", label: ["row failed", "rows failed"], className: "bad" },
        ]}
      />
    </div>
  );
}
