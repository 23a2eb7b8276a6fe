/** The wizard's first steps: direction and name, data type (and an outbound file's options), method. */
import type { Direction } from "../api";
import {
  COMPRESSIONS,
  DATA_TYPES,
  DIRECTIONS,
  FORMATS,
  FREQUENCIES,
  INBOUND_TYPES,
  METHODOLOGIES,
  METHODS,
  OUTBOUND_TYPES,
  REPORTS,
  WEEKDAYS,
} from "../labels";
import { SelectField, TextField } from "../ui";
import { MethodDetails } from "./method-details";
import type { Schedule, StepProps, WizardState } from "./state";

export function DirectionStep(props: StepProps & { choose: (d: Direction) => void }) {
  const { s, set, errors } = props;
  return (
    <>
      <TextField
        label="Connection name"
        value={s.name}
        onChange={(name) => set({ name })}
        error={errors.name}
        hint="Name it after what it carries, e.g. “Daily orders from Shopify”. It also names its folder."
      />
      <fieldset
        className={errors.direction ? "invalid" : undefined}
        aria-describedby={errors.direction ? "direction-error" : undefined}
      >
        <legend>Direction</legend>
        {(["inbound", "outbound"] as const).map((d) => (
          <label key={d} className="choice">
            <input
              type="radio"
              name="direction"
              checked={s.direction === d}
              onChange={() => props.choose(d)}
            />
            <span>
              <strong>{DIRECTIONS[d]}</strong>
              <span className="muted">
                {d === "inbound"
                  ? "Send files (conversions, modifications, clicks, catalogs) to the platform"
                  : "Get files (reports, performance bonus detail) from the platform"}
              </span>
            </span>
          </label>
        ))}
        {errors.direction && (
          <div className="error" id="direction-error" role="alert">
            {errors.direction}
          </div>
        )}
      </fieldset>
    </>
  );
}

export function TypeStep({ s, set, errors, timeZone }: StepProps) {
  const types = s.direction === "outbound" ? OUTBOUND_TYPES : INBOUND_TYPES;
  return (
    <>
      <fieldset aria-describedby={errors.dataType ? "datatype-error" : undefined}>
        <legend>Data type</legend>
        {types.map((t) => (
          <label key={t} className="choice">
            <input
              type="radio"
              name="dataType"
              checked={s.dataType === t}
              onChange={() => set({ dataType: t })}
            />
            <span>
              <strong>{DATA_TYPES[t]?.label}</strong>
              <span className="muted">{DATA_TYPES[t]?.hint}</span>
            </span>
          </label>
        ))}
        {errors.dataType && (
          <div className="error" id="datatype-error" role="alert">
            {errors.dataType}
          </div>
        )}
      </fieldset>
      {s.direction === "outbound" && s.dataType && (
        <OutboundOptions s={s} set={set} errors={errors} timeZone={timeZone} />
      )}
    </>
  );
}

/** Report, format, compression and schedule of an outbound connection. */
export function OutboundOptions({ s, set, errors, timeZone }: StepProps) {
  const sch = s.schedule;
  const setSchedule = (patch: Partial<Schedule>) => set({ schedule: { ...sch, ...patch } });
  return (
    <div className="grid">
      {s.dataType === "reports" && (
        <SelectField
          label="Report"
          value={s.report}
          onChange={(report) => set({ report })}
          options={Object.entries(REPORTS)}
          error={errors["details.report"]}
        />
      )}
      <SelectField
        label="Format"
        value={s.format}
        onChange={(format) => set({ format })}
        options={Object.entries(FORMATS)}
        error={errors["details.format"]}
      />
      <SelectField
        label="Compression"
        value={s.compression}
        onChange={(compression) => set({ compression })}
        options={COMPRESSIONS}
      />
      <SelectField
        label="Schedule"
        value={sch.frequency}
        onChange={(frequency) => setSchedule({ frequency })}
        options={Object.entries(FREQUENCIES)}
        error={errors["details.schedule.frequency"] ?? errors["details.schedule"]}
      />
      {["daily", "weekly", "monthly"].includes(sch.frequency) && (
        <TextField
          label="Time (HH:MM)"
          value={sch.time}
          onChange={(time) => setSchedule({ time })}
          error={errors["details.schedule.time"]}
          hint={`In the account's time zone${timeZone ? `: ${timeZone}` : ""}`}
        />
      )}
      {sch.frequency === "weekly" && (
        <SelectField
          label="Day of week"
          value={sch.dayOfWeek}
          onChange={(dayOfWeek) => setSchedule({ dayOfWeek })}
          options={WEEKDAYS.map((d) => [d, d[0]!.toUpperCase() + d.slice(1)])}
        />
      )}
      {sch.frequency === "monthly" && (
        <TextField
          label="Day of month (1–28)"
          value={sch.dayOfMonth}
          onChange={(dayOfMonth) => setSchedule({ dayOfMonth })}
          error={errors["details.schedule.dayOfMonth"]}
        />
      )}
    </div>
  );
}

export function MethodStep({ s, set, errors }: StepProps) {
  const methodologies =
    s.direction === "outbound" ? ["pull_from_platform"] : ["push_to_platform", "pull_from_third_party"];
  return (
    <>
      <div className="grid">
        <SelectField
          label="Method"
          value={s.method}
          onChange={(method) => set({ method: method as WizardState["method"], port: "" })}
          options={Object.entries(METHODS)}
          error={errors.method}
        />
        <SelectField
          label="Methodology"
          value={s.methodology}
          onChange={(m) => set({ methodology: m as WizardState["methodology"] })}
          options={methodologies.map((m) => [m, METHODOLOGIES[m]!])}
          error={errors.methodology}
          hint={
            s.methodology === "push_to_platform"
              ? s.method === "email"
                ? "You email files to an address Ferry gives this connection."
                : "You upload files to Ferry's server with your credential."
              : s.methodology === "pull_from_platform"
                ? s.method === "email"
                  ? "Ferry emails each generated file to the recipients."
                  : "Ferry generates files on schedule; you download them from Ferry's server."
                : "Ferry logs in to your server on a schedule and fetches new files."
          }
        />
      </div>
      <MethodDetails s={s} set={set} errors={errors} />
    </>
  );
}

/** The settings that depend on direction, method and methodology (recipients, your server, processing). */
