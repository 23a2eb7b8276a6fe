import { type FormEvent, useState } from "react";
import { ApiError, api, type Session } from "../api";
import { Notice, TextField } from "../ui";

export function SignIn(props: { onSignedIn: (s: Session) => void }) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!login || !password) {
      setError("Enter your login and your password");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await api<Session>("POST", "/session", { login, password }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <form onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title">Sign in to Ferry</h1>
        <p className="muted">Batch data connectors: exchange files with the platform.</p>
        {error && <Notice kind="error">{error}</Notice>}
        <TextField label="Login" value={login} onChange={setLogin} autoComplete="username" name="login" />
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          name="password"
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
