/**
 * The Connector wizard: Direction → Type → Method → Credentials → Review, then the created connection's
 * address and next steps. All choices live in one state, so going Back loses nothing. On the Credentials
 * step Next creates a new credential itself (its secret then shows, and takes the focus, on Review); the step
 * opens on "Create new" when the account has none, and is passed over where the method needs none (email).
 * The step is in the URL (?step=N: the browser's Back goes one step back); leaving with typed input asks
 * first; the draft is kept in the tab (sessionStorage, never a password) so that a sign-in after an expired
 * session, or a reload, picks it up where it was.
 */
import { useEffect, useRef, useState } from "react";
import { ApiError, all, api, type Connection, type Credential, type Direction, type Session } from "../api";
import { needsCredential, sendsEmail } from "../labels";
import { CONNECTIONS } from "../paths";
import { guardLeaving, Link } from "../router";
import { NoEmailNotice, Notice, useOnce } from "../ui";
import { CredentialsStep } from "../wizard/credentials-step";
import { Created, Review } from "../wizard/review";
import {
  checkedHere,
  checkStep,
  detailsOf,
  type Errors,
  INITIAL,
  STEPS,
  stepOf,
  type WizardState,
} from "../wizard/state";
import { DirectionStep, MethodStep, TypeStep } from "../wizard/steps";
import { createCredential } from "./CredentialForm";

const DRAFT = "ferry.wizard.draft";

/** The draft kept in this tab, if any. */
function loadDraft(): { s: WizardState; step: number } | null {
  try {
    const d = JSON.parse(sessionStorage.getItem(DRAFT) ?? "null");
    return d && typeof d.step === "number" && d.s ? { s: { ...INITIAL, ...d.s }, step: d.step } : null;
  } catch {
    return null;
  }
}

const stepInUrl = () => Number(new URLSearchParams(location.search).get("step") ?? "1") - 1;

export function Wizard(props: { session: Session }) {
  const [draft] = useState(loadDraft);
  const [s, setState] = useState<WizardState>(draft?.s ?? INITIAL);
  const [step, setStep] = useState(draft?.step ?? 0);
  const [touched, setTouched] = useState(draft !== null);
  const reached = useRef(draft?.step ?? 0);
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const [createdCredential, setCreatedCredential] = useState<Credential | null>(null);
  const [created, setCreated] = useState<Connection | null>(null);
  const [busy, setBusy] = useState(false);
  const [credentialError, setCredentialError] = useState<ApiError | null>(null);
  // A change clears the messages it fixes; the others stay until the next check.
  const set = (patch: Partial<WizardState>) => {
    const updated = { ...s, ...patch };
    setState(updated);
    setTouched(true);
    setErrors((current) => {
      if (Object.keys(current).length === 0) return current;
      const still = checkStep(step, updated);
      return Object.fromEntries(Object.entries(current).filter(([k]) => k in still || !checkedHere(k)));
    });
  };

  useEffect(() => {
    all<Credential>("/credentials")
      .then((list) => {
        setCredentials(list);
        if (list.length === 0) setState((st) => ({ ...st, credentialMode: "new" }));
      })
      .catch((e) => setFailure(e.message));
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: move focus to the new step's title on each step.
  useEffect(() => {
    // A secret shown once keeps the focus it took.
    if (document.querySelector("[data-testid=secret-once]")) return;
    document.getElementById("wizard-step-title")?.focus();
  }, [step, created]);

  /** The Credentials step is passed over where the method needs no credential. */
  const skips = (i: number) => i === 3 && !needsCredential(s.method, s.methodology);

  // The step is in the URL: each step is a history entry, so the browser's Back and Forward move by step.
  const goTo = (n: number) => {
    reached.current = Math.max(reached.current, n);
    setStep(n);
    history.pushState(null, "", `${location.pathname}?step=${n + 1}`);
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, for the step the wizard opened on.
  useEffect(() => {
    history.replaceState(null, "", `${location.pathname}?step=${step + 1}`);
  }, []);
  useEffect(() => {
    const moved = () => {
      if (!location.pathname.endsWith("/new")) return;
      const n = Math.max(0, Math.min(stepInUrl(), reached.current));
      setErrors({});
      setStep(n);
    };
    window.addEventListener("popstate", moved);
    return () => window.removeEventListener("popstate", moved);
  }, []);

  // The draft, kept in this tab while there is typed input (the remote server's password is never kept).
  useEffect(() => {
    if (created) sessionStorage.removeItem(DRAFT);
    else if (touched) sessionStorage.setItem(DRAFT, JSON.stringify({ s: { ...s, password: "" }, step }));
  }, [s, step, touched, created]);
  // Leaving with typed input asks first: in the app, and when the tab is closed or reloaded.
  useEffect(() => {
    if (!touched || created) return;
    const unguard = guardLeaving(() => {
      const leave = window.confirm("Leave this connection unfinished? What you typed is lost.");
      if (leave) sessionStorage.removeItem(DRAFT);
      return leave;
    });
    const unload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", unload);
    return () => {
      unguard();
      window.removeEventListener("beforeunload", unload);
    };
  }, [touched, created]);
  const credentialCreated = (c: Credential) => {
    setCredentials((list) => [...list, c]);
    setCreatedCredential(c);
    set({ credentialId: c.id, credentialMode: "existing" });
    setErrors({});
  };
  const [next] = useOnce(async () => {
    if (step === 3 && s.credentialMode === "new" && needsCredential(s.method, s.methodology)) {
      try {
        credentialCreated(await createCredential(s.newCredential));
        setCredentialError(null);
      } catch (e) {
        setCredentialError(e as ApiError);
        return;
      }
      goTo(4);
      return;
    }
    const e = checkStep(step, s);
    setErrors(e);
    if (Object.keys(e).length === 0) goTo(skips(step + 1) ? step + 2 : step + 1);
  });
  const back = () => {
    setErrors({});
    goTo(skips(step - 1) ? step - 2 : step - 1);
  };

  const chooseDirection = (direction: Direction) => {
    if (direction === s.direction) return;
    set({
      direction,
      dataType: "",
      methodology: direction === "outbound" ? "pull_from_platform" : "push_to_platform",
    });
  };

  const create = async () => {
    setBusy(true);
    setFailure(null);
    try {
      const body = {
        name: s.name.trim(),
        direction: s.direction,
        dataType: s.dataType,
        method: s.method,
        methodology: s.methodology,
        ...(needsCredential(s.method, s.methodology) ? { credentialId: s.credentialId } : {}),
        details: detailsOf(s),
      };
      setCreated(await api<Connection>("POST", "/connections", body));
    } catch (e) {
      if (e instanceof ApiError && e.fields.length) {
        const byPath: Errors = {};
        for (const f of e.fields) byPath[f.path] = f.message;
        setErrors(byPath);
        goTo(Math.min(...e.fields.map((f) => stepOf(f.path))));
      }
      setFailure(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (created) return <Created connection={created} credential={createdCredential} />;

  const credential = credentials.find((c) => c.id === s.credentialId);
  return (
    <section className="wizard" aria-labelledby="wizard-title">
      <div className="page-head">
        <h1 id="wizard-title">Create Connection</h1>
        <Link href={CONNECTIONS} className="button secondary">
          Cancel
        </Link>
      </div>
      <ol className="steps" aria-label="Steps">
        {STEPS.map((name, i) => (
          <li
            key={name}
            className={i === step ? "current" : i < step ? "done" : undefined}
            aria-current={i === step ? "step" : undefined}
          >
            <span className="num">{i + 1}</span> {name}
            {skips(i) && <span className="muted"> (not needed)</span>}
          </li>
        ))}
      </ol>
      <div className="card">
        <h2 id="wizard-step-title" tabIndex={-1}>
          Step {step + 1} of {STEPS.length}: {STEPS[step]}
        </h2>
        {failure && step === 4 && <Notice kind="error">{failure}</Notice>}
        {draft && step === draft.step && (
          <div data-testid="draft-kept">
            <Notice kind="info">
              Your draft is as you left it: a sign-in or a reload came in between. Passwords are not kept, so
              type them again where asked.
            </Notice>
          </div>
        )}
        {step === 0 && <DirectionStep s={s} set={set} errors={errors} choose={chooseDirection} />}
        {step === 1 && <TypeStep s={s} set={set} errors={errors} timeZone={props.session.account.timeZone} />}
        {step === 2 && <MethodStep s={s} set={set} errors={errors} />}
        {step === 2 && !props.session.server.emailSending && sendsEmail(s) && <NoEmailNotice />}
        {step === 3 && (
          <CredentialsStep
            s={s}
            set={set}
            errors={errors}
            credentials={credentials}
            created={createdCredential}
            creationError={credentialError}
            onEdited={(c) => setCredentials((list) => list.map((x) => (x.id === c.id ? { ...x, ...c } : x)))}
          />
        )}
        {step === 4 && (
          <Review s={s} credential={credential} session={props.session} created={createdCredential} />
        )}
        <div className="wizard-nav">
          {step > 0 && (
            <button type="button" className="secondary" onClick={back}>
              Back
            </button>
          )}
          {step < 4 && (
            <button type="button" onClick={next}>
              Next
            </button>
          )}
          {step === 4 && (
            <button type="button" onClick={create} disabled={busy}>
              {busy ? "Creating…" : "Create"}
            </button>
          )}
        </div>
      </div>
    </section>
  );
}
