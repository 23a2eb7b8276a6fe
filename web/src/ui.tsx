/** Small building blocks: labelled fields with their error, buttons, copy, status badges, notices. */
import { type ReactNode, useCallback, useId, useRef, useState } from "react";
import { ACTIVITY } from "./labels";

export function Field(props: {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy =
    [props.error ? errorId : null, props.hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${props.error ? " invalid" : ""}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.hint && (
        <div className="hint" id={hintId}>
          {props.hint}
        </div>
      )}
      {props.error && (
        <div className="error" id={errorId} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

export function TextField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
  hint?: ReactNode;
  type?: string;
  placeholder?: string;
  autoComplete?: string;
  name?: string;
  /** The id of a <datalist> of suggestions. */
  list?: string;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {(id, describedBy) => (
        <input
          id={id}
          name={props.name}
          type={props.type ?? "text"}
          value={props.value}
          placeholder={props.placeholder}
          autoComplete={props.autoComplete}
          list={props.list}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function SelectField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: [string, string][];
  error?: string | undefined;
  hint?: ReactNode;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {(id, describedBy) => (
        <select
          id={id}
          value={props.value}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => props.onChange(e.target.value)}
        >
          {props.options.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Checkbox(props: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  hint?: string;
}) {
  const id = useId();
  return (
    <div className="field checkbox">
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
      />
      <label htmlFor={id}>{props.label}</label>
      {props.hint && <div className="hint">{props.hint}</div>}
    </div>
  );
}

export function CopyButton(props: { value: string; label: string; text?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
    } catch {
      // Without clipboard access (plain http on another host), select the text for the user to copy.
      const el = document.querySelector<HTMLElement>(`[data-copy="${CSS.escape(props.label)}"]`);
      if (el) window.getSelection()?.selectAllChildren(el);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <button
      type="button"
      className="secondary small"
      onClick={copy}
      // The name starts with what the button says (WCAG 2.5.3).
      aria-label={props.text ? `${props.text} ${props.label.toLowerCase()}` : `Copy ${props.label}`}
    >
      {copied ? "Copied" : (props.text ?? "Copy")}
    </button>
  );
}

/** A secret or address shown for copying. */
export function Copyable(props: { label: string; value: string; hideLabel?: boolean }) {
  return (
    <div className="copyable">
      <span className={props.hideLabel ? "sr-only" : "copy-label"}>{props.label}</span>
      <code data-copy={props.label} data-testid={`copy-${props.label.toLowerCase().replace(/\W+/g, "-")}`}>
        {/* A long address wraps after its separators (@ / :), not in the middle of a name. */}
        {props.value.split(/(?<=[@/:])/).map((part, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string, in order.
          <span key={i}>
            {part}
            <wbr />
          </span>
        ))}
      </code>
      <CopyButton value={props.value} label={props.label} />
    </div>
  );
}

export function ActivityBadge(props: { status: string }) {
  return <span className={`badge activity-${props.status}`}>{ACTIVITY[props.status] ?? props.status}</span>;
}

export function StatusBadge(props: { status: string }) {
  return <span className={`badge status-${props.status}`}>{props.status.replaceAll("_", " ")}</span>;
}

export function Notice(props: { kind: "error" | "warning" | "success" | "info"; children: ReactNode }) {
  return (
    <div className={`notice ${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function Loading() {
  return (
    <p className="muted" aria-live="polite">
      Loading…
    </p>
  );
}

/**
 * An action that runs once at a time: a second click (or submit) while it runs does nothing — a double click
 * on Run now or Save sends one request. `busy` is true meanwhile, for the button to say so. A submit event
 * that is skipped is still prevented (the browser would otherwise post the form itself).
 */
export function useOnce<A extends unknown[]>(
  fn: (...args: A) => Promise<unknown>,
): [(...args: A) => void, boolean] {
  const latest = useRef(fn);
  latest.current = fn;
  const running = useRef(false);
  const [busy, setBusy] = useState(false);
  const run = useCallback((...args: A) => {
    if (running.current) {
      (args[0] as { preventDefault?: () => void } | undefined)?.preventDefault?.();
      return;
    }
    running.current = true;
    setBusy(true);
    let done: Promise<unknown>;
    try {
      done = latest.current(...args);
    } catch (err) {
      done = Promise.reject(err);
    }
    void done
      .catch(() => {})
      .finally(() => {
        running.current = false;
        setBusy(false);
      });
  }, []);
  return [run, busy];
}

/** A button for a useOnce action: disabled and saying `busyLabel` while it runs. */
export function BusyButton(props: {
  busy: boolean;
  busyLabel: string;
  onClick?: () => void;
  type?: "button" | "submit";
  className?: string;
  disabled?: boolean;
  children: ReactNode;
}) {
  return (
    <button
      type={props.type ?? "button"}
      className={props.className}
      onClick={props.onClick}
      disabled={props.busy || props.disabled}
      aria-busy={props.busy || undefined}
    >
      {props.busy ? props.busyLabel : props.children}
    </button>
  );
}

/** Said where a connection would have Ferry send email and no relay is configured. */
export function NoEmailNotice() {
  return (
    <div data-testid="no-email">
      <Notice kind="warning">
        Ferry can't send email yet: ask your administrator to set up its SMTP relay. Until then files are made
        but not sent, and each shows as "delivery failed".
      </Notice>
    </div>
  );
}
