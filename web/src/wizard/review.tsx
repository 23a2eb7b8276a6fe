/** The Review step, and the created connection's address and next steps. */
import type { Connection, Credential, Session } from "../api";
import { HandOff } from "../connection/hand-off";
import { pgpKeyLabel, usePgpKeys } from "../connection/pgp";
import {
  COMPRESSIONS,
  DATA_TYPES,
  DELIMITERS,
  DIRECTIONS,
  ENCODINGS,
  FORMATS,
  FREQUENCIES,
  METHODOLOGIES,
  METHODS,
  needsCredential,
  REPORTS,
} from "../labels";
import { SecretOnce } from "../pages/CredentialForm";
import { CONNECTIONS, CREDENTIALS } from "../paths";
import { Link } from "../router";
import { Copyable, Notice } from "../ui";
import { detailsOf, type WizardState } from "./state";

export function Review(props: {
  s: WizardState;
  credential: Credential | undefined;
  session: Session;
  /** A credential the wizard just made: its password shows here, once more on the created page. */
  created?: Credential | null;
}) {
  const { s } = props;
  const d = detailsOf(s);
  const pgpKeys = usePgpKeys(Boolean(s.pgpSignedBy || s.pgpEncryptTo));
  const rows: [string, string][] = [
    ["Name", s.name.trim()],
    ["Direction", `${s.direction === "inbound" ? "Inbound" : "Outbound"}: ${DIRECTIONS[s.direction]}`],
    ["Data type", DATA_TYPES[s.dataType]?.label ?? s.dataType],
  ];
  if (s.direction === "outbound") {
    if (s.dataType === "reports") rows.push(["Report", REPORTS[s.report] ?? s.report]);
    rows.push(["Format", `${FORMATS[s.format]}${s.compression === "none" ? "" : `, ${s.compression}`}`]);
    const sch = s.schedule;
    let schedule = FREQUENCIES[sch.frequency] ?? sch.frequency;
    if (sch.frequency === "weekly") schedule += ` on ${sch.dayOfWeek}`;
    if (sch.frequency === "monthly") schedule += ` on day ${sch.dayOfMonth}`;
    if (["daily", "weekly", "monthly"].includes(sch.frequency)) schedule += ` at ${sch.time}`;
    rows.push(["Schedule", `${schedule} (${props.session.account.timeZone})`]);
  }
  rows.push(["Method", METHODS[s.method]!], ["Methodology", METHODOLOGIES[s.methodology]!]);
  if (s.methodology === "pull_from_third_party") {
    rows.push(
      ["Server", `${d.host}:${d.port}`],
      ["Username", s.username],
      [
        "Log in with",
        s.method === "sftp" && s.authMethod === "key" ? "Ferry's key" : "a password (stored encrypted)",
      ],
      [s.method === "email" ? "Mailbox" : "Folder", s.method === "email" ? s.mailbox : s.folder],
      ["File pattern", s.filePattern],
    );
    if (s.method !== "email") {
      rows.push(
        ["Delete after pull", s.deleteAfterPull ? "Yes" : "No"],
        ["Result folder", s.resultFolder || "none"],
        ["Pull every", `${s.pullEveryMinutes} minutes`],
      );
    }
  }
  if (s.direction === "inbound" && s.method === "email" && s.methodology === "push_to_platform") {
    rows.push(["Attachment pattern", s.filePattern || "*"], ["Return address", s.returnAddress || "none"]);
  }
  if (s.direction === "outbound" && s.method === "email") rows.push(["Recipients", s.recipients]);
  if (s.direction === "outbound" && s.method !== "email") {
    rows.push([
      "Delivered to your server",
      s.deliverToServer
        ? `${s.username}@${d.host}:${d.port}${s.folder} (${s.method === "sftp" && s.authMethod === "key" ? "Ferry's key" : "password"})`
        : "No (download from outbox/)",
    ]);
  }
  if (s.direction === "inbound") {
    rows.push(
      ["All or nothing", s.allOrNothing ? "Yes" : "No"],
      ["Validate only", s.validateOnly ? "Yes" : "No"],
      ["Errors file", COMPRESSIONS.find(([v]) => v === s.errorsCompression)?.[1] ?? s.errorsCompression],
      ["File encoding", ENCODINGS.find(([v]) => v === s.encoding)?.[1] ?? s.encoding],
      ["Delimiter", DELIMITERS.find(([v]) => v === s.delimiter)?.[1] ?? s.delimiter],
      [
        "Expected files",
        s.expectFiles ? `${s.expectDays.map((d) => d.slice(0, 3)).join(", ")} by ${s.expectBy}` : "No",
      ],
    );
  }
  if (s.direction === "inbound") {
    rows.push(
      ["Encrypted files (PGP)", s.pgpEncryption === "required" ? "Required" : "Accepted (plain files too)"],
      ["Signature required from", s.pgpSignedBy ? pgpKeyLabel(pgpKeys, s.pgpSignedBy) : "No"],
    );
  } else if (s.direction === "outbound") {
    rows.push([
      "Encrypted to (PGP)",
      s.pgpEncryptTo
        ? `${pgpKeyLabel(pgpKeys, s.pgpEncryptTo)}${s.pgpSign ? ", signed with your key" : ""}`
        : "No",
    ]);
  }
  if (needsCredential(s.method, s.methodology)) {
    const c = props.credential;
    rows.push([
      "Credential",
      c ? `${c.name} (${c.kind === "password" ? "password" : "public key"}, ${c.username})` : "—",
    ]);
  }
  const secret = props.created?.password && props.created.id === s.credentialId ? props.created : null;
  return (
    <>
      {secret && <SecretOnce credential={secret} />}
      <dl className="summary" data-testid="review">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <Notice kind="warning">
        A connection cannot be deleted once created. You can edit it, or disable it; everything it did stays
        visible.
      </Notice>
    </>
  );
}

export function Created(props: { connection: Connection; credential: Credential | null }) {
  const c = props.connection;
  const page = `${CONNECTIONS}/${c.id}`;
  let next: string;
  if (c.methodology === "push_to_platform") {
    next =
      c.method === "email"
        ? "Email files as attachments to the address above; each becomes a transfer with its result."
        : `Connect with any ${METHODS[c.method]} client using the credential, and upload files into ${c.folder}/inbox/. Results appear in ${c.folder}/results/ and on the connection's page.`;
  } else if (c.methodology === "pull_from_platform") {
    next =
      c.method === "email"
        ? "Files are emailed to the recipients on schedule. Use Run now on the connection's page to get one at once."
        : `Files are generated on schedule into ${c.folder}/outbox/: download them with your ${METHODS[c.method]} client. Use Run now on the connection's page to get one at once.`;
  } else {
    next =
      "Ferry pulls matching files from your server on schedule; watch the connection's page for each pull.";
  }
  return (
    <section className="card created" aria-labelledby="wizard-step-title">
      <h1 id="wizard-step-title" tabIndex={-1}>
        Connection “{c.name}” created
      </h1>
      {c.address && <Copyable label="Address" value={c.address} />}
      {props.credential?.password && <SecretOnce credential={props.credential} />}
      {c.login && <HandOff connection={c} credential={props.credential} />}
      <h2>What to do next</h2>
      <p>{next}</p>
      <p className="row">
        <Link className="button" href={page}>
          Open the connection's page
        </Link>
        <Link className="button secondary" href={CONNECTIONS}>
          Back to connections
        </Link>
        <Link className="button secondary" href={CREDENTIALS}>
          Credentials
        </Link>
      </p>
    </section>
  );
}
