// A router of a few lines: the path lives in a store, links push history entries.

import { create } from "zustand";
import type { MouseEvent } from "react";

interface Location {
  path: string;
  search: string;
}

const here = (): Location => ({ path: window.location.pathname, search: window.location.search });

export const useLocation = create<Location>(() => here());

window.addEventListener("popstate", () => useLocation.setState(here()));

export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  useLocation.setState(here());
  window.scrollTo(0, 0);
}

/** onClick for an <a href>: route in the page unless the user asked for a new tab. */
export function follow(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute("href") ?? "/");
}

/** `/flows/12` against `/flows/:id` -> {id: "12"}, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split("/").filter(Boolean);
  const b = path.split("/").filter(Boolean);
  if (a.length !== b.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i += 1) {
    if (a[i].startsWith(":")) params[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}
