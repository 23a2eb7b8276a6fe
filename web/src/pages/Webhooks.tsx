/**
 * Webhooks: the account's endpoints (added with a signing secret shown once), each with its events, a test
 * event, secret rotation, disabling, and its delivery log with redelivery. Admins change them; members see
 * them. The API refuses what a role may not do whatever this page shows.
 */
import { type FormEvent, useCallback, useEffect, useState } from "react";
import {
  type ApiError,
  api,
  type Connection,
  type Page,
  type Session,
  type Subscription,
  type WebhookDelivery,
  type WebhookEndpoint,
} from "../api";
import { when } from "../labels";
import {
  BusyButton,
  Checkbox,
  Copyable,
  Loading,
  Notice,
  SelectField,
  StatusBadge,
  TextField,
  useOnce,
} from "../ui";

/** What each event means, in words. */
const EVENT_LABELS: Record<string, string> = {
  "file.received": "A file was received",
  "file.duplicate": "A file was a duplicate of an earlier one",
  "file.processed": "A file was processed, every row taken",
  "file.partial": "A file was processed, some rows refused",
  "file.rejected": "A file was read, every row refused",
  "file.validated": "A file was validated (nothing applied)",
  "file.failed": "A file could not be processed",
  "file.missing": "An expected file did not come by its time",
  "pull.failing": "Pulling from a third party's server fails",
  "pull.recovered": "Pulling works again",
  "connection.host_key_changed": "A server's key or certificate changed",
  "file.generated": "An outbound file was generated",
  "file.delivered": "An outbound file was delivered",
  "file.delivery_failed": "An outbound file could not be delivered",
  "webhook.test": "Test events",
};

/** Which events: one checkbox each, none ticked meaning every event. */
function EventChoice(props: { events: string[]; chosen: string[]; onChange: (chosen: string[]) => void }) {
  const { chosen } = props;
  return (
    <fieldset>
      <legend>Events (none chosen: every event)</legend>
      {props.events.map((event) => (
        <Checkbox
          key={event}
          label={`${EVENT_LABELS[event] ?? event} (${event})`}
          checked={chosen.includes(event)}
          onChange={(on) => props.onChange(on ? [...chosen, event] : chosen.filter((c) => c !== event))}
        />
      ))}
    </fieldset>
  );
}

function NewSecret(props: { endpoint: WebhookEndpoint }) {
  return (
    <section className="secret-once" data-testid="webhook-secret" aria-label="Signing secret, shown once">
      <Notice kind="warning">
        Copy the signing secret now: <strong>it will not be shown again</strong>. Verify each request's{" "}
        <code>webhook-signature</code> with it (Standard Webhooks libraries do).
      </Notice>
      <Copyable label="Signing secret" value={props.endpoint.secret} />
    </section>
  );
}

function AddEndpoint(props: { events: string[]; onAdded: (e: WebhookEndpoint) => void }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [submit, adding] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    try {
      const made = await api<WebhookEndpoint>("POST", "/webhooks", {
        url: url.trim(),
        description,
        events: chosen,
      });
      setUrl("");
      setDescription("");
      setChosen([]);
      setError(null);
      props.onAdded(made);
    } catch (err) {
      setError(err as ApiError);
    }
  });
  return (
    <form onSubmit={submit} className="card" aria-labelledby="add-webhook">
      <h2 id="add-webhook">Add an endpoint</h2>
      <TextField
        label="Endpoint URL"
        value={url}
        onChange={setUrl}
        hint="Ferry POSTs each event there as JSON, signed. Public addresses only."
        error={error?.field("url")}
      />
      <TextField label="Description" value={description} onChange={setDescription} />
      <EventChoice events={props.events} chosen={chosen} onChange={setChosen} />
      {error && !error.fields.length && <Notice kind="error">{error.message}</Notice>}
      <BusyButton type="submit" busy={adding} busyLabel="Adding…">
        Add endpoint
      </BusyButton>
    </form>
  );
}

function Deliveries(props: { endpoint: WebhookEndpoint; admin: boolean; refresh: number }) {
  const [items, setItems] = useState<WebhookDelivery[] | null>(null);
  const load = useCallback(async () => {
    setItems(
      (await api<{ items: WebhookDelivery[] }>("GET", `/webhooks/${props.endpoint.id}/deliveries`)).items,
    );
  }, [props.endpoint.id]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `refresh` asks for a reload.
  useEffect(() => {
    void load();
  }, [load, props.refresh]);
  // Follow deliveries still being tried.
  useEffect(() => {
    if (!items?.some((d) => d.status === "pending")) return;
    const timer = setTimeout(load, 1000);
    return () => clearTimeout(timer);
  }, [items, load]);
  const [again] = useOnce(async (id: string) => {
    await api("POST", `/webhook-deliveries/${id}/redeliver`);
    await load();
  });
  if (!items) return <Loading />;
  if (items.length === 0) return <p className="muted">No deliveries yet.</p>;
  return (
    <div className="table-wrap">
      <table className="list" data-testid="webhook-deliveries">
        <caption className="sr-only">Deliveries to {props.endpoint.url}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Answer</th>
            {props.admin && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id}>
              <td data-label="Time">{when(d.createdAt)}</td>
              <td data-label="Event">
                <code>{d.eventType}</code>
              </td>
              <td data-label="Status">
                <StatusBadge status={d.status} />
              </td>
              <td data-label="Attempts" className="num">
                {d.attempts}
              </td>
              <td data-label="Answer">
                {d.responseCode ?? "—"}
                {d.lastError && <div className="muted small">{d.lastError}</div>}
              </td>
              {props.admin && (
                <td data-label="Action">
                  <button type="button" className="link" onClick={() => again(d.id)}>
                    Redeliver
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Endpoint(props: {
  endpoint: WebhookEndpoint;
  admin: boolean;
  onChanged: (e: WebhookEndpoint) => void;
}) {
  const e = props.endpoint;
  const [refresh, setRefresh] = useState(0);
  const [message, setMessage] = useState<string | null>(null);
  const [test, testing] = useOnce(async () => {
    await api("POST", `/webhooks/${e.id}/test`);
    setMessage("A webhook.test event is on its way.");
    setTimeout(() => setRefresh((n) => n + 1), 500);
  });
  const [rotate, rotating] = useOnce(async () => {
    if (!window.confirm(`Rotate the signing secret of ${e.url}? The old one keeps signing for 24 hours.`))
      return;
    props.onChanged(await api<WebhookEndpoint>("POST", `/webhooks/${e.id}/rotate-secret`));
  });
  const [toggle, toggling] = useOnce(async () => {
    props.onChanged(
      await api<WebhookEndpoint>("PATCH", `/webhooks/${e.id}`, {
        status: e.status === "active" ? "disabled" : "active",
      }),
    );
  });
  return (
    <section className="card" aria-label={`Endpoint ${e.url}`} data-testid="webhook-endpoint">
      <div className="page-head">
        <h2>
          <code>{e.url}</code> <StatusBadge status={e.status} />
        </h2>
      </div>
      {e.description && <p>{e.description}</p>}
      <p className="muted">
        Events: {e.events.length === 0 ? "every event" : e.events.join(", ")}. Added {when(e.createdAt)}.
      </p>
      {e.secret && <NewSecret endpoint={e} />}
      {message && <Notice kind="success">{message}</Notice>}
      {props.admin && (
        <div className="actions">
          <BusyButton className="secondary small" busy={testing} busyLabel="Sending…" onClick={test}>
            Send a test event
          </BusyButton>
          <BusyButton className="secondary small" busy={rotating} busyLabel="Rotating…" onClick={rotate}>
            Rotate secret
          </BusyButton>
          <BusyButton className="secondary small" busy={toggling} busyLabel="Saving…" onClick={toggle}>
            {e.status === "active" ? "Disable" : "Enable"}
          </BusyButton>
        </div>
      )}
      <h3>Deliveries</h3>
      <Deliveries endpoint={e} admin={props.admin} refresh={refresh} />
    </section>
  );
}

/** The signed-in user's email subscriptions (admins: the account's), and a form to add one. */
function EmailNotifications(props: { session: Session; events: string[] }) {
  const [items, setItems] = useState<Subscription[] | null>(null);
  const [connections, setConnections] = useState<Connection[]>([]);
  const [email, setEmail] = useState(props.session.user?.login.includes("@") ? props.session.user.login : "");
  const [connectionId, setConnectionId] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [mode, setMode] = useState("immediate");
  const [error, setError] = useState<ApiError | null>(null);
  const load = useCallback(async () => {
    setItems((await api<{ items: Subscription[] }>("GET", "/notifications")).items);
  }, []);
  useEffect(() => {
    void load();
    void api<Page<Connection>>("GET", "/connections?limit=100").then((p) => setConnections(p.items));
  }, [load]);
  const nameOf = (id: string | null) =>
    id === null ? "every connection" : (connections.find((c) => c.id === id)?.name ?? id);
  const [submit, adding] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api("POST", "/notifications", {
        email: email.trim(),
        connectionId: connectionId || null,
        events: chosen,
        mode,
      });
      setChosen([]);
      setError(null);
      await load();
    } catch (err) {
      setError(err as ApiError);
    }
  });
  const [remove] = useOnce(async (id: string) => {
    await api("DELETE", `/notifications/${id}`);
    await load();
  });
  const events = props.events.filter((e) => e !== "webhook.test");
  return (
    <section className="card" aria-labelledby="email-notifications">
      <h2 id="email-notifications">Email notifications</h2>
      {!props.session.user && <Notice kind="info">Notifications belong to a user: sign in as one.</Notice>}
      {!items && <Loading />}
      {items && items.length === 0 && <p className="muted">You get no email notifications.</p>}
      {items && items.length > 0 && (
        <ul data-testid="subscriptions">
          {items.map((s) => (
            <li key={s.id}>
              {s.email}: {s.events.length === 0 ? "every event" : s.events.join(", ")} of{" "}
              {nameOf(s.connectionId)}, {s.mode === "digest" ? "in a daily digest (08:00)" : "at once"}{" "}
              <button type="button" className="link" onClick={() => remove(s.id)}>
                Unsubscribe
              </button>
            </li>
          ))}
        </ul>
      )}
      {props.session.user && (
        <form onSubmit={submit} aria-label="Subscribe">
          <TextField label="Email address" value={email} onChange={setEmail} error={error?.field("email")} />
          <SelectField
            label="Connection"
            value={connectionId}
            onChange={setConnectionId}
            options={[["", "Every connection"], ...connections.map((c): [string, string] => [c.id, c.name])]}
          />
          <EventChoice events={events} chosen={chosen} onChange={setChosen} />
          <SelectField
            label="When"
            value={mode}
            onChange={setMode}
            options={[
              ["immediate", "At once, one mail per event"],
              ["digest", "A daily digest at 08:00 (account time zone)"],
            ]}
          />
          {error && !error.fields.length && <Notice kind="error">{error.message}</Notice>}
          <BusyButton type="submit" busy={adding} busyLabel="Subscribing…">
            Subscribe
          </BusyButton>
        </form>
      )}
    </section>
  );
}

export function Webhooks(props: { session: Session }) {
  const admin = props.session.accountRole === "admin";
  const [data, setData] = useState<{ items: WebhookEndpoint[]; events: string[] } | null>(null);
  useEffect(() => {
    void api<{ items: WebhookEndpoint[]; events: string[] }>("GET", "/webhooks").then(setData);
  }, []);
  const replace = (e: WebhookEndpoint) =>
    setData((d) => d && { ...d, items: d.items.map((x) => (x.id === e.id ? e : x)) });
  return (
    <>
      <h1>Notifications and webhooks</h1>
      <p className="muted">
        Ferry tells you and your systems what happens to your files: by email, at once or in a daily digest,
        and to your webhook endpoints, each event POSTed as JSON and signed per the Standard Webhooks
        specification (a failed delivery is tried again for about 40 minutes).
      </p>
      {data && <EmailNotifications session={props.session} events={data.events} />}
      {!admin && <Notice kind="info">Only the account's admins add or change endpoints.</Notice>}
      {!data && <Loading />}
      {data?.items.map((e) => (
        <Endpoint key={e.id} endpoint={e} admin={admin} onChanged={replace} />
      ))}
      {data && data.items.length === 0 && <p className="muted">No endpoints yet.</p>}
      {data && admin && (
        <AddEndpoint
          events={data.events}
          onAdded={(e) => setData((d) => d && { ...d, items: [...d.items, e] })}
        />
      )}
    </>
  );
}
