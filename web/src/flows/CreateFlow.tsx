import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { api, unwrap } from "../api/client";
import { navigate } from "../app/router";
import { ENTRIES } from "../canvas/catalogue";
import { scratch } from "../canvas/document";
import type { Flow, Template } from "./types";

/** "Create flow": start from scratch (choose the entry point) or use a template by its title. */
export function CreateFlow({ onClose }: { onClose: () => void }) {
  const [mode, setMode] = useState<"choose" | "scratch">("choose");
  const [entry, setEntry] = useState("event");
  const [name, setName] = useState("Untitled flow");
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);
  const queries = useQueryClient();
  const templates = useQuery({
    queryKey: ["templates"],
    queryFn: async () =>
      ((await unwrap(api.GET("/api/v1/templates"))) as { items: Template[] }).items,
  });
  const create = useMutation({
    mutationFn: (body: object) =>
      unwrap(api.POST("/api/v1/flows", { body: body as never })) as unknown as Promise<Flow>,
    onSuccess: (flow) => {
      void queries.invalidateQueries({ queryKey: ["flows"] });
      navigate(`/flows/${flow.id}`);
    },
  });

  return (
    <dialog ref={dialog} aria-labelledby="create-title" onClose={onClose} className="dialog">
      <h2 id="create-title">Create flow</h2>
      {create.isError && <p role="alert">{create.error.message}</p>}
      {mode === "choose" ? (
        <>
          <button type="button" className="primary" onClick={() => setMode("scratch")}>
            Start from scratch
          </button>
          <h3>Or use a template</h3>
          <ul className="templates">
            {templates.data?.map((t) => (
              <li key={t.name}>
                <button type="button" onClick={() => create.mutate({ template: t.name })} aria-describedby={`t-${t.name}`}>
                  {t.title}
                </button>
                <p id={`t-${t.name}`}>{t.description}</p>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(scratch(entry, name.trim() || "Untitled flow"));
          }}
        >
          <label>
            Flow name
            <input value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <fieldset>
            <legend>Entry point</legend>
            {ENTRIES.map((e) => (
              <label key={e.type} className="radio">
                <input
                  type="radio"
                  name="entry"
                  value={e.type}
                  checked={entry === e.type}
                  onChange={() => setEntry(e.type)}
                />
                {e.label}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create
          </button>
        </form>
      )}
      <button type="button" onClick={() => dialog.current?.close()}>
        Cancel
      </button>
    </dialog>
  );
}
