import { useState, type FormEvent } from "react";
import { useSession } from "./session";

/** Sign in with an API key; the key is checked against GET /account before it is kept. */
export function SignIn() {
  const signIn = useSession((s) => s.signIn);
  const [key, setKey] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = key.trim();
    if (!value) {
      setProblem("Enter an API key.");
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const r = await fetch("/api/v1/account", { headers: { Authorization: `Bearer ${value}` } });
      if (r.ok) signIn(value);
      else if (r.status === 401 || r.status === 403) setProblem("That API key is not valid.");
      else setProblem(`The server answered ${r.status}; try again.`);
    } catch {
      setProblem("The server cannot be reached.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Tidings</h1>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="current-password"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={problem !== null}
          aria-describedby={problem ? "signin-problem" : undefined}
          autoFocus
        />
        {problem && (
          <p id="signin-problem" role="alert" className="problem">
            {problem}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <p className="hint">
          <code>make run</code> prints the key; <code>TIDINGS_API_KEY</code> sets it.
        </p>
      </form>
    </main>
  );
}
