// The signed-in key, remembered in the browser (localStorage) so a reload or a link to a
// flow does not ask again.

import { create } from "zustand";

const STORAGE = "tidings.apiKey";

interface Session {
  key: string | null;
  signIn: (key: string) => void;
  signOut: () => void;
  /** The API refused the key (revoked): forget it. */
  expire: () => void;
}

function stored(): string | null {
  try {
    return localStorage.getItem(STORAGE);
  } catch {
    return null;
  }
}

export const useSession = create<Session>((set) => ({
  key: stored(),
  signIn: (key) => {
    localStorage.setItem(STORAGE, key);
    set({ key });
  },
  signOut: () => {
    localStorage.removeItem(STORAGE);
    set({ key: null });
  },
  expire: () => {
    localStorage.removeItem(STORAGE);
    set({ key: null });
  },
}));
