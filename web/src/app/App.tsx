import { useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect } from "react";
import { api, unwrap } from "../api/client";
import { SignIn } from "../auth/SignIn";
import { useSession } from "../auth/session";
import { FlowList } from "../flows/FlowList";
import { LaunchPage } from "../flows/LaunchPage";
import { People } from "../people/People";
import { Profile } from "../people/Profile";
import { Mep } from "../mep/Mep";
import { Reports } from "../reports/Reports";
import { SandboxMessages } from "../sandbox/SandboxMessages";
import { follow, match, useLocation } from "./router";

const FlowEditor = lazy(() => import("../canvas/FlowEditor"));

interface Account {
  id: number;
  name: string;
}

function Nav({ path }: { path: string }) {
  const links: Array<[string, string]> = [
    ["/", "All communications"],
    ["/people", "People"],
    ["/sandbox/messages", "Messages sent"],
    ["/reports", "Reports"],
    ["/mep", "MEP"],
  ];
  return (
    <nav aria-label="Main">
      {links.map(([href, label]) => (
        <a key={href} href={href} onClick={follow} aria-current={path === href ? "page" : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

function Page({ path }: { path: string }) {
  let params = match("/flows/:id", path);
  if (params) return <FlowEditor flowId={Number(params.id)} />;
  params = match("/flows/:id/launch", path);
  if (params) return <LaunchPage flowId={Number(params.id)} />;
  params = match("/people/:id", path);
  if (params) return <Profile personId={Number(params.id)} />;
  if (path === "/people") return <People />;
  if (path === "/sandbox/messages") return <SandboxMessages />;
  if (path === "/reports") return <Reports />;
  if (path === "/mep") return <Mep />;
  if (path === "/" || path === "/flows") return <FlowList />;
  return (
    <main>
      <h1>Not found</h1>
      <p>
        There is no page at {path}. <a href="/" onClick={follow}>All communications</a>
      </p>
    </main>
  );
}

export function App() {
  const key = useSession((s) => s.key);
  const signOut = useSession((s) => s.signOut);
  const { path } = useLocation();
  const queries = useQueryClient();
  const account = useQuery({
    queryKey: ["account", key],
    enabled: key !== null,
    queryFn: () => unwrap(api.GET("/api/v1/account")) as unknown as Promise<Account>,
  });
  useEffect(() => {
    if (key === null) queries.clear();
  }, [key, queries]);

  if (key === null) return <SignIn />;
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/" onClick={follow}>
          Tidings
        </a>
        <Nav path={path} />
        <div className="who">
          <span aria-label="Account">{account.data?.name ?? ""}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <Suspense fallback={<p className="loading">Loading…</p>}>
        <Page path={path} />
      </Suspense>
    </div>
  );
}
