/**
 * A connection's OpenPGP settings: inbound, whether files must be encrypted and whose signature they must
 * carry; outbound, the partner's key files are encrypted to and whether Ferry signs them. Keys themselves are
 * made and imported on the PGP keys page.
 */
import { useEffect, useState } from "react";
import { api, type PgpKey } from "../api";
import { PGP_KEYS } from "../paths";
import { Link } from "../router";
import { Checkbox, SelectField } from "../ui";
import type { StepProps } from "../wizard/state";

/**
 * The account's PGP keys (null while loading; empty when they cannot be read). Read only when `wanted`: a page
 * whose connection names no key asks for none.
 */
export function usePgpKeys(wanted = true): PgpKey[] | null {
  const [keys, setKeys] = useState<PgpKey[] | null>(null);
  useEffect(() => {
    if (!wanted) return;
    let live = true;
    api<{ items: PgpKey[] }>("GET", "/pgp-keys").then(
      (r) => live && setKeys(r.items),
      () => live && setKeys([]),
    );
    return () => {
      live = false;
    };
  }, [wanted]);
  return keys;
}

/** A key as a person picks it: its name, the end of its fingerprint, and whether it expired. */
export function pgpKeyLabel(keys: PgpKey[] | null, id: string): string {
  const k = keys?.find((x) => x.id === id);
  if (!k) return keys ? "a key no longer in the account" : "…";
  const flag = k.expiry === "expired" ? ", EXPIRED" : k.expiry === "expiring" ? ", expires soon" : "";
  return `${k.name} (${k.fingerprint.slice(-16)}${flag})`;
}

export function PgpSettings({ s, set, errors }: StepProps) {
  const keys = usePgpKeys();
  const partners = (keys ?? []).filter((k) => k.kind === "partner" && k.status === "active");
  const choices = (none: string): [string, string][] => [
    ["", none],
    ...partners.map((k): [string, string] => [k.id, pgpKeyLabel(keys, k.id)]),
  ];
  const ownActive = (keys ?? []).some((k) => k.kind === "own" && k.status === "active");
  const hint = (
    <>
      Keys are added on the <Link href={PGP_KEYS}>PGP keys</Link> page.
    </>
  );
  return (
    <fieldset>
      <legend>Encryption (OpenPGP)</legend>
      {s.direction === "inbound" ? (
        <>
          <SelectField
            label="Encrypted files"
            value={s.pgpEncryption}
            onChange={(pgpEncryption) => set({ pgpEncryption: pgpEncryption as "accepted" | "required" })}
            options={[
              ["accepted", "Accepted: decrypted when encrypted to your key; plain files too"],
              ["required", "Required: refuse files that are not encrypted"],
            ]}
            hint={
              ownActive ? (
                "Files encrypted to one of your PGP key pairs are decrypted before processing."
              ) : (
                <>
                  Your account has no PGP key pair yet: <Link href={PGP_KEYS}>create one</Link> and give its
                  public key to the partner.
                </>
              )
            }
          />
          <SelectField
            label="Signature required from"
            value={s.pgpSignedBy}
            onChange={(pgpSignedBy) => set({ pgpSignedBy })}
            options={choices("No signature required")}
            error={errors["details.pgpSignedBy"]}
            hint={hint}
          />
        </>
      ) : (
        <>
          <SelectField
            label="Encrypt files to"
            value={s.pgpEncryptTo}
            onChange={(pgpEncryptTo) => set({ pgpEncryptTo, ...(pgpEncryptTo ? {} : { pgpSign: false }) })}
            options={choices("Not encrypted")}
            error={errors["details.pgpEncryptTo"]}
            hint={<>Encrypted files are named ….pgp. {hint}</>}
          />
          {s.pgpEncryptTo && (
            <Checkbox
              label="Sign them with your newest PGP key"
              checked={s.pgpSign}
              onChange={(pgpSign) => set({ pgpSign })}
            />
          )}
        </>
      )}
    </fieldset>
  );
}
