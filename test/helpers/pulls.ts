/** Pull-from-third-party tests: pull now and wait for the outcome; click files to put on the servers. */
import { apiCall } from "./ferry.js";

export interface PullOutcome {
  id: string;
  status: string;
  filesFound: number | null;
  filesTaken: number | null;
  filesWaiting: number | null;
  errorCode: string | null;
  error: string | null;
  hostKey: string | null;
}

export const latestPull = async (
  baseUrl: string,
  token: string,
  connectionId: string,
): Promise<PullOutcome> =>
  (await apiCall(baseUrl, token, "GET", `/api/v1/connections/${connectionId}/pulls`)).items[0];

/** Pull now, and wait for that pull to finish. */
export async function pullAndWait(
  baseUrl: string,
  token: string,
  connectionId: string,
): Promise<PullOutcome> {
  let started: { id: string } | undefined;
  for (let i = 0; !started; i++) {
    const res = await fetch(`${baseUrl}/api/v1/connections/${connectionId}/pulls`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status === 202) started = await res.json();
    // A pull may already be open (the scheduler's first one): let it finish, then pull.
    else if (res.status === 409 && i < 100) await new Promise((r) => setTimeout(r, 200));
    else throw new Error(`pull now: ${res.status} ${await res.text()}`);
  }
  for (let i = 0; i < 300; i++) {
    const latest = await latestPull(baseUrl, token, connectionId);
    if (latest.id === started.id && (latest.status === "succeeded" || latest.status === "failed"))
      return latest;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the pull did not finish");
}

/** A clicks file of the given click ids, an hour old. */
export const clicksCsv = (program: { campaignId: number; partnerId: number }, ...ids: string[]) =>
  `ClickId,CampaignId,MediaId,EventDate\n${ids.map((id) => `${id},${program.campaignId},${program.partnerId},${new Date(Date.now() - 3600_000).toISOString()}`).join("\n")}\n`;
